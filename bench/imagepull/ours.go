package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/openpacific/pacific/services/imagesvc"
)

// layerTimes are the progress events of one layer, as seen by the caller.
type layerTimes struct {
	index                              int
	downloading, verifying, extracting time.Time
	done                               time.Time
}

// tracker records when each phase of a pull was first reported.
type tracker struct {
	layers map[string]*layerTimes
}

func (t *tracker) record(p imagesvc.Progress) {
	if p.Layer == "" {
		return
	}
	now := time.Now()
	lt, ok := t.layers[p.Layer]
	if !ok {
		lt = &layerTimes{index: p.LayerIndex}
		t.layers[p.Layer] = lt
	}
	set := func(at *time.Time) {
		if at.IsZero() {
			*at = now
		}
	}
	switch p.Phase {
	case imagesvc.PhaseDownloading:
		set(&lt.downloading)
	case imagesvc.PhaseVerifying:
		set(&lt.verifying)
	case imagesvc.PhaseExtracting:
		set(&lt.extracting)
	case imagesvc.PhaseDone:
		set(&lt.done)
	}
}

// ourRun is one measured pull.
type ourRun struct {
	total time.Duration // New + Pull
	open  time.Duration // imagesvc.New
	// resolve: Pull start → first layer starts downloading (manifest,
	// config, bookkeeping).
	resolve time.Duration
	// stream: first download start → last layer fully read, i.e. fetched,
	// decompressed, hashed and written (extraction streams with download).
	stream time.Duration
	// finish: last layer read → last layer committed (digest checks,
	// directory metadata, rename, layer record with fsync).
	finish time.Duration
	// record: last layer committed → Pull returned (image record).
	record time.Duration
	// perLayer: each layer's downloading → verifying, bottom first.
	perLayer []time.Duration
	dirs     []string // unpacked layer directories, bottom first
}

// pullOurs opens an image service on the empty cache root and pulls ref.
// svcLog is the service's logger.
func pullOurs(ctx context.Context, ref, root string, svcLog *slog.Logger) (*ourRun, *imagesvc.Service, error) {
	tr := &tracker{layers: map[string]*layerTimes{}}
	start := time.Now()
	svc, err := imagesvc.New(ctx, imagesvc.Options{Root: root, Logger: svcLog})
	if err != nil {
		return nil, nil, fmt.Errorf("image service: %w", err)
	}
	opened := time.Now()
	img, err := svc.Pull(ctx, imagesvc.PullRequest{Ref: ref, Progress: tr.record})
	end := time.Now()
	if err != nil {
		svc.Close()
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	r := &ourRun{total: end.Sub(start), open: opened.Sub(start)}
	var first, lastRead, lastDone time.Time
	lts := make([]*layerTimes, 0, len(tr.layers))
	for _, lt := range tr.layers {
		lts = append(lts, lt)
	}
	slices.SortFunc(lts, func(a, b *layerTimes) int { return a.index - b.index })
	for _, lt := range lts {
		if first.IsZero() || lt.downloading.Before(first) {
			first = lt.downloading
		}
		lastRead = later(lastRead, lt.verifying)
		lastDone = later(lastDone, lt.done)
		r.perLayer = append(r.perLayer, lt.verifying.Sub(lt.downloading))
	}
	if !first.IsZero() {
		r.resolve = first.Sub(opened)
		r.stream = lastRead.Sub(first)
		r.finish = lastDone.Sub(lastRead)
		r.record = end.Sub(lastDone)
	}
	for _, l := range img.Layers {
		r.dirs = append(r.dirs, l.Dir)
	}
	return r, svc, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *ourRun) String() string {
	var per []string
	for _, d := range r.perLayer {
		per = append(per, secs(d))
	}
	return fmt.Sprintf("total %s = open %s + resolve %s + fetch/gunzip/unpack %s [per layer %s] + verify/commit %s + image record %s",
		secs(r.total), ms(r.open), ms(r.resolve), secs(r.stream), strings.Join(per, " "), ms(r.finish), ms(r.record))
}
