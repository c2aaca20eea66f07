// Package quantity parses Kubernetes-style resource quantities: "500m" and
// "2" CPUs, "64Mi", "1G", "1e3" bytes. Values are kept as integers in
// thousandths (milli-units), so "100m" CPU is 100 and "1Ki" is 1,024,000.
package quantity
