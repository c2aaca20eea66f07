package apis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// DefaultMaxSurge and DefaultMaxUnavailable are a rolling update's bounds
// when the Deployment sets none (as in Kubernetes).
const (
	DefaultMaxSurge       = "25%"
	DefaultMaxUnavailable = "25%"
)

// ScaledValue resolves an int-or-percentage (1 or "25%") against total:
// percentages round up when roundUp, else down. Anything else (fractions,
// negative numbers, other strings) is an error.
func ScaledValue(v *structpb.Value, total int32, roundUp bool) (int32, error) {
	switch k := v.GetKind().(type) {
	case nil:
		return 0, fmt.Errorf("required: a count such as 1 or a percentage such as \"25%%\"")
	case *structpb.Value_NumberValue:
		n := k.NumberValue
		if n != math.Trunc(n) || n < 0 || n > math.MaxInt32 {
			return 0, fmt.Errorf("%v: want a whole number ≥ 0 or a percentage such as \"25%%\"", n)
		}
		return int32(n), nil
	case *structpb.Value_StringValue:
		digits, ok := strings.CutSuffix(k.StringValue, "%")
		p, err := strconv.Atoi(digits)
		if !ok || err != nil || p < 0 || p > 100 || digits != strconv.Itoa(p) {
			// A count written as a string ("1") is accepted too, as in
			// Kubernetes' IntOrString.
			if n, err := strconv.ParseInt(k.StringValue, 10, 32); err == nil && n >= 0 && !ok {
				return int32(n), nil
			}
			return 0, fmt.Errorf("%q: want a percentage from \"0%%\" to \"100%%\" or a whole number", k.StringValue)
		}
		scaled := float64(p) * float64(total) / 100
		if roundUp {
			return int32(math.Ceil(scaled)), nil
		}
		return int32(math.Floor(scaled)), nil
	}
	return 0, fmt.Errorf("want a count such as 1 or a percentage such as \"25%%\"")
}

// RollingBounds returns how many pods a rolling update of d may add above
// spec.replicas (surge) and take away below it (unavailable). When both
// resolve to 0, unavailable is 1 so the rollout can make progress.
func RollingBounds(d *corev1.Deployment) (surge, unavailable int32, err error) {
	replicas := d.GetSpec().GetReplicas()
	ru := d.GetSpec().GetStrategy().GetRollingUpdate()
	ms, mu := ru.GetMaxSurge(), ru.GetMaxUnavailable()
	if ms == nil {
		ms = structpb.NewStringValue(DefaultMaxSurge)
	}
	if mu == nil {
		mu = structpb.NewStringValue(DefaultMaxUnavailable)
	}
	if surge, err = ScaledValue(ms, replicas, true); err != nil {
		return 0, 0, fmt.Errorf("spec.strategy.rollingUpdate.maxSurge: %w", err)
	}
	if unavailable, err = ScaledValue(mu, replicas, false); err != nil {
		return 0, 0, fmt.Errorf("spec.strategy.rollingUpdate.maxUnavailable: %w", err)
	}
	if d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		return 0, replicas, nil
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, min(unavailable, replicas), nil
}

// DeploymentComplete reports whether d's status shows a finished rollout
// of its current spec: every replica updated and available, no old pods.
func DeploymentComplete(d *corev1.Deployment) bool {
	st, want := d.GetStatus(), d.GetSpec().GetReplicas()
	return st.GetObservedGeneration() >= d.GetMetadata().GetGeneration() &&
		st.GetUpdatedReplicas() == want && st.GetReplicas() == want && st.GetAvailableReplicas() == want
}

// FindCondition returns the condition of type t, or nil.
func FindCondition(conds []*corev1.Condition, t string) *corev1.Condition {
	for _, c := range conds {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}
