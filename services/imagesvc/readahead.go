package imagesvc

import (
	"errors"
	"io"
	"sync"
)

// errReadAheadClosed is what the producer ends with when the consumer
// stopped reading first.
var errReadAheadClosed = errors.New("read-ahead closed")

// readAhead reads r on its own goroutine, up to depth chunks ahead of the
// consumer. Unpacking a layer uses it between decompression (with the
// diffID hash) and extraction, so that the two overlap on two CPUs as
// `tar xzf`'s gzip and tar processes do; on one goroutine they add up.
// Read is for one goroutine; Close stops the producer and waits for it,
// so nothing touches r once Close has returned.
type readAhead struct {
	chunks chan []byte   // filled, in order; closed when the producer ends
	free   chan []byte   // buffers to fill; holds all of them, so sends never block
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when the producer has returned
	err    error         // why the producer ended (io.EOF at the end); read once chunks is closed
	held   []byte        // the buffer cur lies in, returned to free when used up
	cur    []byte
	close  sync.Once
}

func newReadAhead(r io.Reader, chunkSize, depth int) *readAhead {
	ra := &readAhead{
		chunks: make(chan []byte, depth),
		free:   make(chan []byte, depth+1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range depth + 1 {
		ra.free <- make([]byte, chunkSize)
	}
	go ra.produce(r)
	return ra
}

func (ra *readAhead) produce(r io.Reader) {
	defer close(ra.exited)
	defer close(ra.chunks)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			ra.err = errReadAheadClosed
			return
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			select {
			case ra.chunks <- buf[:n]:
			case <-ra.done:
				ra.err = errReadAheadClosed
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF // a short last chunk
			}
			ra.err = err
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(ra.cur) == 0 {
		if ra.held != nil {
			ra.free <- ra.held[:cap(ra.held)]
			ra.held = nil
		}
		c, ok := <-ra.chunks
		if !ok {
			return 0, ra.err
		}
		ra.held, ra.cur = c, c
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the producer (if it has not ended) and waits until it has
// returned. It does not close r.
func (ra *readAhead) Close() {
	ra.close.Do(func() { close(ra.done) })
	<-ra.exited
}
