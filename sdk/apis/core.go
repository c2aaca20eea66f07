package apis

// Well-known values of the core.pacific.dev kinds, shared by the API server,
// controllers and clients.
const (
	// NamespaceFinalizer keeps a deleted Namespace until the namespace
	// controller has deleted everything in it.
	NamespaceFinalizer = "pacific.dev/namespace-contents"
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
