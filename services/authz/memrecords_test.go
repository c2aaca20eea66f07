package authz

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"sync"
)

// memRecords is an in-memory Records for unit tests of this package; the
// API server's store-backed Records are exercised by the apiserver tests.
type memRecords struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
}

func newMemRecords() *memRecords { return &memRecords{m: map[string]map[string][]byte{}} }

func (r *memRecords) GetRecord(_ context.Context, c, n string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.m[c][n]
	if !ok {
		return nil, fmt.Errorf("%s/%s: %w", c, n, fs.ErrNotExist)
	}
	return b, nil
}

func (r *memRecords) CreateRecord(_ context.Context, c, n string, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[c][n]; ok {
		return fmt.Errorf("%s/%s: %w", c, n, fs.ErrExist)
	}
	if r.m[c] == nil {
		r.m[c] = map[string][]byte{}
	}
	r.m[c][n] = v
	return nil
}

func (r *memRecords) PutRecord(_ context.Context, c, n string, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[c] == nil {
		r.m[c] = map[string][]byte{}
	}
	r.m[c][n] = v
	return nil
}

func (r *memRecords) DeleteRecord(_ context.Context, c, n string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[c][n]; !ok {
		return fmt.Errorf("%s/%s: %w", c, n, fs.ErrNotExist)
	}
	delete(r.m[c], n)
	return nil
}

func (r *memRecords) ListRecords(_ context.Context, c string) (map[string][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.m[c]), nil
}
