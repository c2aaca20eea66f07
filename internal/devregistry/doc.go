// Package devregistry runs an OCI registry on loopback for dev mode and
// tests, and can seed it with a busybox image built from the host's static
// busybox binary (Debian's busybox-static), so pods run without internet.
package devregistry
