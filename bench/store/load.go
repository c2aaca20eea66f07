package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// opFunc performs operation number i on behalf of client number client.
type opFunc func(ctx context.Context, client, i int) error

// phaseResult is what one phase measured.
type phaseResult struct {
	ops     int
	errors  int
	elapsed time.Duration
	lat     []time.Duration // sorted
}

func (r phaseResult) perSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

func (r phaseResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p+0.5) - 1
	return r.lat[max(0, min(i, len(r.lat)-1))]
}

// runLoad runs fn with the given number of concurrent clients until maxOps
// operations have completed or maxDur has passed, whichever comes first,
// and records every successful operation's latency. Operation numbers start
// at first. Failed operations are counted (a leader change under load can
// fail a few); more than maxErrors of them stop the phase with the last one.
func runLoad(ctx context.Context, clients, first, maxOps int, maxDur time.Duration, fn opFunc) (phaseResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(maxDur)
	var next atomic.Int64
	next.Store(int64(first))
	end := int64(first + maxOps)
	lats := make([][]time.Duration, clients)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		nerrs  int
		runErr error
	)
	maxErrors := max(10, maxOps/100)
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, maxOps/clients+1)
			defer func() { lats[c] = mine }()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= end || time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				if err := fn(ctx, c, int(i)); err != nil {
					mu.Lock()
					nerrs++
					if nerrs > maxErrors && runErr == nil {
						runErr = fmt.Errorf("%d operations failed, the last (number %d, client %d): %w", nerrs, i, c, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if runErr != nil {
		return phaseResult{}, runErr
	}
	if err := ctx.Err(); err != nil {
		return phaseResult{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	return phaseResult{ops: len(all), errors: nerrs, elapsed: elapsed, lat: all}, nil
}

// merge combines the results of two rounds of one phase.
func merge(a, b phaseResult) phaseResult {
	lat := append(append(make([]time.Duration, 0, len(a.lat)+len(b.lat)), a.lat...), b.lat...)
	slices.Sort(lat)
	return phaseResult{ops: a.ops + b.ops, errors: a.errors + b.errors, elapsed: a.elapsed + b.elapsed, lat: lat}
}
