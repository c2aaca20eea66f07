package hostagent

import (
	"log/slog"
	"sync/atomic"

	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Event reasons the agent reports (Kubernetes' names).
const (
	ReasonPulling          = "Pulling"
	ReasonPulled           = "Pulled"
	ReasonCreated          = "Created"
	ReasonStarted          = "Started"
	ReasonKilling          = "Killing"
	ReasonBackOff          = "BackOff"
	ReasonFailed           = "Failed"
	ReasonUnhealthy        = "Unhealthy"
	ReasonUnsupported      = "UnsupportedIsolation"
	ReasonFailedCleanup    = "FailedCleanup"
	ReasonSandboxChanged   = "SandboxChanged"
	ReasonImageNeverPulled = "ErrImageNeverPull"
)

// eventComponent is EventSource.component of the agent's events.
const eventComponent = "hostagent"

const maxPendingEvents = 1024

// reconciles counts the pod reconciles in progress: the agent's events
// wait while there are any (at most record.DefaultMaxDelay, 5 s, as the
// scheduler's), so that a burst of pod starts is not slowed by its own
// bookkeeping (decision 0029).
type reconciles struct{ n atomic.Int64 }

// start marks a reconcile in progress until the returned func is called.
func (r *reconciles) start() (done func()) {
	r.n.Add(1)
	return func() { r.n.Add(-1) }
}

func (r *reconciles) busy() bool { return r.n.Load() > 0 }

// newEventRecorder returns the agent's Event recorder (run it with Run):
// repeated occurrences are one Event object per pod, field path, type,
// reason and message, written as soon as no reconcile runs. No minimum
// interval: the agent's own logic already reports a condition once per
// run (back-off, pull failure), and a pod's events of one reason with
// different messages (Killing: probe failure, then stopping) belong
// together in describe.
func newEventRecorder(events *client.Typed[*corev1.Event], host string, busy func() bool, log *slog.Logger) (*record.Aggregator, error) {
	return record.NewAggregator(record.AggregatorConfig{
		Events:      events,
		Component:   eventComponent,
		Host:        host,
		Logger:      log,
		MinInterval: -1,
		MaxPending:  maxPendingEvents,
		Busy:        busy,
	})
}

// podRef is the involvedObject of events about pod, at fieldPath
// (e.g. spec.containers{main}) if not empty.
func podRef(pod *corev1.Pod, fieldPath string) *corev1.ObjectReference {
	md := pod.GetMetadata()
	return &corev1.ObjectReference{
		ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: md.GetNamespace(), Name: md.GetName(), Uid: md.GetUid(), FieldPath: fieldPath,
	}
}
