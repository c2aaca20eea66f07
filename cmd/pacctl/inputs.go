package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/manifest"
)

// readManifests reads -f arguments (files, directories of .yaml, .yml
// and .json files, or "-" for stdin) and decodes every document. If any
// document has an error, it returns all the errors (a manifest.ErrorList)
// and no objects.
func (a *app) readManifests(paths []string) ([]apis.Object, error) {
	if len(paths) == 0 {
		return nil, usageError{errors.New("must name manifests with -f FILE, DIR or -")}
	}
	docs, err := manifest.Decoder{}.DecodePaths(paths, a.stdin)
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the path %q does not exist", pe.Path)
	}
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no objects passed (in %s)", strings.Join(paths, ", "))
	}
	objs := make([]apis.Object, len(docs))
	for i, d := range docs {
		objs[i] = d.Object
	}
	return objs, nil
}
