package apis

// Well-known values of the core.pacific.dev kinds, shared by the API server,
// controllers and clients.
const (
	// NamespaceFinalizer keeps a deleted Namespace until the namespace
	// controller has deleted everything in it.
	NamespaceFinalizer = "pacific.dev/namespace-contents"
	// HostAgentFinalizer keeps a deleted Pod until the agent of the host it
	// is bound to has stopped and cleaned up its containers. The API server
	// adds it when the pod is bound (created with spec.nodeName, or bound by
	// the scheduler), so the agent need not write it before starting one.
	HostAgentFinalizer = "pacific.dev/hostagent"
	// NamespaceActive and NamespaceTerminating are Namespace phases.
	NamespaceActive      = "Active"
	NamespaceTerminating = "Terminating"
	// EventNormal and EventWarning are Event types.
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Secret types and the key of registry credentials.
const (
	SecretOpaque                     = "Opaque"
	SecretDockerConfigJSON           = "pacific.dev/dockerconfigjson"
	SecretDockerConfigJSONKubernetes = "kubernetes.io/dockerconfigjson"
	DockerConfigJSONKey              = ".dockerconfigjson"
)

// CoreV1 is the apiVersion of the core kinds.
const CoreV1 = "core.pacific.dev/v1"

// Garbage collection: the finalizers that Delete adds for the foreground
// and orphan propagation policies; the garbage collector removes them.
const (
	ForegroundDeletionFinalizer = "foregroundDeletion"
	OrphanFinalizer             = "orphan"
)

// Deployments and ReplicaSets.
const (
	// PodTemplateHashLabel is on a Deployment's ReplicaSets and their pods
	// (and in the ReplicaSet's selector): the hash of the pod template.
	PodTemplateHashLabel = "pod-template-hash"
	// RevisionAnnotation numbers a Deployment's ReplicaSets; the
	// Deployment carries the current one.
	RevisionAnnotation = "deployment.pacific.dev/revision"
	// ChangeCauseAnnotation, copied from the Deployment to its ReplicaSet,
	// is shown by pacctl rollout history.
	ChangeCauseAnnotation = "pacific.dev/change-cause"
	// RestartedAtAnnotation on a pod template makes pacctl rollout restart
	// roll every pod.
	RestartedAtAnnotation = "pacific.dev/restartedAt"
	// Deployment strategies.
	RollingUpdateStrategy = "RollingUpdate"
	RecreateStrategy      = "Recreate"
	// Deployment condition types and reasons.
	DeploymentAvailable              = "Available"
	DeploymentProgressing            = "Progressing"
	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
	ReasonNewReplicaSetCreated       = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet         = "FoundNewReplicaSet"
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonNewReplicaSetAvailable     = "NewReplicaSetAvailable"
	ReasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
	ReasonDeploymentPaused           = "DeploymentPaused"
	ReasonDeploymentResumed          = "DeploymentResumed"
)

// Hosts.
const (
	// HostReady is the Host condition the host agent keeps True while it
	// renews its Lease; the host lifecycle controller sets it Unknown when
	// the Lease lapses.
	HostReady = "Ready"
	// ReasonHostLeaseExpired is the Ready=Unknown reason.
	ReasonHostLeaseExpired = "HostLeaseExpired"
	// ReasonEvicted is the reason of a pod deleted because its host was
	// lost or drained.
	ReasonEvicted = "Evicted"
	// HostLeaseNamespace holds one Lease per host, named like the Host.
	HostLeaseNamespace = "pacific-system"
)

// EvictingAnnotation marks a pod the eviction API wants gone once its
// replacement is Ready; its ReplicaSet no longer counts it as a replica.
const EvictingAnnotation = "pacific.dev/evicting"
