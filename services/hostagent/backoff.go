package hostagent

import "time"

// Backoff is an exponential backoff: Base, 2×Base, 4×Base... up to Max.
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait after the n-th consecutive failure (n ≥ 1):
// Base·2^(n-1), at most Max. It is 0 for n ≤ 0.
func (b Backoff) Delay(n int) time.Duration {
	if n <= 0 || b.Base <= 0 {
		return 0
	}
	d := b.Base
	for i := 1; i < n; i++ {
		if d >= b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return min(d, b.Max)
}

// RestartDelay is how long a container that crashed for the crashes-th time
// in a row waits before its restart, as the kubelet does it: the first
// restart is immediate, then Base, 2×Base... up to Max.
func (b Backoff) RestartDelay(crashes int) time.Duration {
	return b.Delay(crashes - 1)
}

// nextCrashes returns the consecutive-crash count after a run that lasted
// ran: a run of at least resetAfter starts the count over.
func nextCrashes(prev int, ran, resetAfter time.Duration) int {
	if resetAfter > 0 && ran >= resetAfter {
		return 1
	}
	return prev + 1
}
