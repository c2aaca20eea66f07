package testutil

import (
	"testing"
	"time"
)

// pollInterval is how often Eventually and Consistently look again.
const pollInterval = 10 * time.Millisecond

// Eventually calls cond until it reports done or timeout passes; then it
// fails t naming what was awaited and cond's last detail.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (done bool, detail string)) {
	t.Helper()
	EventuallyEvery(t, timeout, pollInterval, what, cond)
}

// EventuallyEvery is Eventually looking again every interval, for
// conditions that are costly to check (e.g. running a command).
func EventuallyEvery(t testing.TB, timeout, interval time.Duration, what string, cond func() (done bool, detail string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		done, detail := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s (last: %s)", what, timeout, detail)
		}
		<-tick.C
	}
}

// EventuallyNoError is Eventually for a condition that reports why it does
// not hold yet as an error.
func EventuallyNoError(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	Eventually(t, timeout, what, func() (bool, string) {
		if err := cond(); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// Consistently checks that cond holds for the whole span (checking that
// something does not happen needs a span of time); it fails t with cond's
// detail the first time it does not.
func Consistently(t testing.TB, span time.Duration, what string, cond func() (holds bool, detail string)) {
	t.Helper()
	end := time.Now().Add(span)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for time.Now().Before(end) {
		if holds, detail := cond(); !holds {
			t.Fatalf("%s: %s", what, detail)
		}
		<-tick.C
	}
}
