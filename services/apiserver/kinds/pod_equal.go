package kinds

import (
	"google.golang.org/protobuf/proto"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// equalIgnoring compares pod specs ignoring the fields that may change.
func equalIgnoring(a, b *corev1.PodSpec) bool {
	ca, cb := proto.Clone(a).(*corev1.PodSpec), proto.Clone(b).(*corev1.PodSpec)
	for _, s := range []*corev1.PodSpec{ca, cb} {
		if s == nil {
			continue
		}
		s.NodeName = ""
		s.Tolerations = nil
		s.TerminationGracePeriodSeconds = nil
	}
	return proto.Equal(ca, cb)
}
