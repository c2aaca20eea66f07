// Package apis maps between protobuf message types and the Kubernetes-style
// apiVersion/kind names used in manifests and requests.
//
// The mapping is a convention, so no table has to be kept in sync: a kind is
// a message named pacific.<domain>.<version>.<Kind> that has a field
// "metadata" of type pacific.core.v1.ObjectMeta; its apiVersion is
// "<domain>.pacific.dev/<version>".
package apis
