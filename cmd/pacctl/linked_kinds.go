package main

// The kinds pacctl can decode are those whose generated Go packages are
// linked into it. When an API domain is added (proto/pacific/<domain>/v1),
// import its package here so that apply, get and describe know its kinds.
import (
	_ "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)
