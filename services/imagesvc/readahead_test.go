package imagesvc

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadAheadDeliversTheStreamInOrder(t *testing.T) {
	data := make([]byte, 1<<20+123)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name         string
		chunk, depth int
		src          func() io.Reader
	}{
		{"one-byte source reads", 4096, 2, func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		{"chunk larger than the stream", 4 << 20, 1, func() io.Reader { return bytes.NewReader(data) }},
		{"chunk not dividing the stream", 1000, 3, func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := newReadAhead(tc.src(), tc.chunk, tc.depth)
			defer ra.Close()
			// Odd read sizes, as tar's headers and file bodies ask.
			got, err := io.ReadAll(iotest.HalfReader(ra))
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want the %d written (equal: false)", len(got), len(data))
			}
			if n, err := ra.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the end = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestReadAheadPassesOnTheSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader([]byte("partial data")), iotest.ErrReader(boom))
	ra := newReadAhead(src, 5, 2)
	defer ra.Close()
	got, err := io.ReadAll(ra)
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want %v", err, boom)
	}
	if string(got) != "partial data" {
		t.Fatalf("read %q before the error, want %q", got, "partial data")
	}
}

// countingReader is an endless source that counts its reads.
type countingReader struct{ bytes, afterClose atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.bytes.Add(int64(len(p)))
	return len(p), nil
}

func TestReadAheadReadsAheadAndStopsOnClose(t *testing.T) {
	const chunk, depth = 1024, 3
	src := &countingReader{}
	ra := newReadAhead(src, chunk, depth)
	if _, err := io.ReadFull(ra, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	// With the consumer idle, the producer fills every buffer: the one
	// being read and depth chunks waiting.
	want := int64((depth + 1) * chunk)
	deadline := time.Now().Add(10 * time.Second)
	for src.bytes.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("source read %d bytes while the consumer was idle, want %d (no read-ahead)", src.bytes.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	// It is bounded: no more than that.
	time.Sleep(20 * time.Millisecond)
	if n := src.bytes.Load(); n != want {
		t.Fatalf("source read %d bytes, want exactly %d (read-ahead unbounded?)", n, want)
	}
	ra.Close() // the producer is blocked handing over a chunk; Close must not hang
	n := src.bytes.Load()
	time.Sleep(20 * time.Millisecond)
	if after := src.bytes.Load(); after != n {
		t.Fatalf("source read %d bytes after Close returned", after-n)
	}
	if _, err := ra.Read(make([]byte, 1<<20)); err != nil && !errors.Is(err, errReadAheadClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	ra.Close() // again: no-op
}
