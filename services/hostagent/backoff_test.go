package hostagent

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 10 * time.Second, Max: 5 * time.Minute}
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{-1, 0}, {0, 0}, {1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second},
		{4, 80 * time.Second}, {5, 160 * time.Second}, {6, 5 * time.Minute}, {7, 5 * time.Minute}, {1000, 5 * time.Minute},
	} {
		if got := b.Delay(tc.n); got != tc.want {
			t.Errorf("Delay(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	if got := (Backoff{}).Delay(3); got != 0 {
		t.Errorf("zero backoff Delay = %v", got)
	}
	if got := (Backoff{Base: time.Second, Max: 1500 * time.Millisecond}).Delay(2); got != 1500*time.Millisecond {
		t.Errorf("Delay capped at a Max that is not a power of two = %v", got)
	}
}

// The kubelet's rhythm: the first restart is immediate, then 10s, 20s...
func TestBackoffRestartDelay(t *testing.T) {
	b := Backoff{Base: 10 * time.Second, Max: 5 * time.Minute}
	for _, tc := range []struct {
		crashes int
		want    time.Duration
	}{
		{0, 0}, {1, 0}, {2, 10 * time.Second}, {3, 20 * time.Second}, {4, 40 * time.Second}, {10, 5 * time.Minute},
	} {
		if got := b.RestartDelay(tc.crashes); got != tc.want {
			t.Errorf("RestartDelay(%d) = %v, want %v", tc.crashes, got, tc.want)
		}
	}
}

func TestNextCrashes(t *testing.T) {
	for _, tc := range []struct {
		prev       int
		ran, reset time.Duration
		want       int
	}{
		{0, time.Second, 10 * time.Minute, 1},
		{3, time.Second, 10 * time.Minute, 4},
		{3, 10 * time.Minute, 10 * time.Minute, 1},
		{3, time.Hour, 10 * time.Minute, 1},
		{3, time.Hour, 0, 4},
	} {
		if got := nextCrashes(tc.prev, tc.ran, tc.reset); got != tc.want {
			t.Errorf("nextCrashes(%d, %v, %v) = %d, want %d", tc.prev, tc.ran, tc.reset, got, tc.want)
		}
	}
}
