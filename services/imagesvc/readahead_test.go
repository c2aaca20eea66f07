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

// reportingReader is an endless source that hands the size of each read
// to the test on reads, one at a time, until stop is closed; a read after
// that counts as a read too many.
type reportingReader struct {
	reads   chan int
	stop    chan struct{}
	tooMany atomic.Int64
}

func (r *reportingReader) Read(p []byte) (int, error) {
	select {
	case r.reads <- len(p):
	case <-r.stop:
		r.tooMany.Add(1)
	}
	return len(p), nil
}

func TestReadAheadReadsAheadAndStopsOnClose(t *testing.T) {
	const chunk, depth = 1024, 3
	src := &reportingReader{reads: make(chan int), stop: make(chan struct{})}
	ra := newReadAhead(src, chunk, depth)
	// With the consumer idle, the producer fills depth chunks that wait
	// for it and one more that it is blocked handing over.
	want := (depth + 1) * chunk
	deadline := time.After(10 * time.Second)
	read := 0
	for read < want {
		select {
		case n := <-src.reads:
			read += n
		case <-deadline:
			t.Fatalf("source read %d bytes while the consumer was idle, want %d (no read-ahead)", read, want)
		}
	}
	if read != want {
		t.Fatalf("source read %d bytes, want exactly %d", read, want)
	}
	// No further read is waiting to be reported now; one that comes later
	// (an unbounded read-ahead's) is counted as too many.
	close(src.stop)
	ra.Close() // the producer is blocked handing over a chunk; Close must not hang
	if n := src.tooMany.Load(); n != 0 {
		t.Fatalf("source read %d times beyond the %d chunks of read-ahead", n, depth+1)
	}
	// Close waited for the producer: the consumer gets the chunks filled
	// before it, then the reason the producer stopped, and the source is
	// not read again.
	got, err := io.ReadAll(ra)
	if !errors.Is(err, errReadAheadClosed) || len(got) != depth*chunk {
		t.Fatalf("reading after Close: %d bytes, %v; want the %d filled before it, then %v", len(got), err, depth*chunk, errReadAheadClosed)
	}
	if n := src.tooMany.Load(); n != 0 {
		t.Fatalf("source read %d times after Close", n)
	}
	ra.Close() // again: no-op
}
