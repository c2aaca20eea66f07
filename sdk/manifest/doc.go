// Package manifest converts between Kubernetes-style YAML or JSON manifests
// and typed Pacific objects.
//
// A manifest names its kind with apiVersion and kind and spells every other
// field with its protojson (lowerCamelCase) name:
//
//	apiVersion: core.pacific.dev/v1
//	kind: Namespace
//	metadata:
//	  name: demo
//	  labels: {team: a}
//
// Decoding is strict. Each document is parsed into a YAML node tree and
// checked against the kind's protobuf descriptor before anything is built,
// so every problem is reported at once, each as an *Error carrying the
// source, the line and the field path:
//
//	demo.yaml:7: spec.bogus: unknown field
//
// Rejected are unknown fields (snake_case names too), wrong types (a YAML
// number or boolean where a string is wanted must be quoted, as in
// Kubernetes), invalid enum names, malformed timestamps and durations,
// integers out of range, duplicate keys, YAML aliases and merge keys, custom
// tags, google.protobuf.Any fields, nesting deeper than 100 levels and
// documents over Decoder.MaxDocumentBytes. Only after a document passes is
// it converted to JSON and unmarshalled with protojson, so the result is
// exactly what the server would accept. Nothing is returned when any
// document has an error.
//
// Input that is a stream of JSON values is read with a JSON parser (one
// document per value; YAML parsers reject some valid JSON); anything else,
// including YAML flow style, with the YAML parser. 64-bit integers may be
// given as numbers or, as protojson writes them, as quoted decimal strings;
// floats accept "NaN", "Infinity" and "-Infinity"; integer and boolean map
// keys may be quoted.
//
// Cost: the node tree of a document takes far more memory than its text
// (a pathological 4 MiB document of one-character list items allocates
// about 1 GB while decoding), so servers decoding untrusted input should set
// MaxDocumentBytes near their object size limit.
//
// EncodeYAML and EncodeJSON write objects with apiVersion, kind, metadata,
// spec and status first, in protojson names; Decode reads them back to an
// equal object.
package manifest
