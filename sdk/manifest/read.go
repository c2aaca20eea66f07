package manifest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxFileBytes bounds each file (and stdin) read by ReadPaths.
const MaxFileBytes = 64 << 20

// Input is the content of one manifest file.
type Input struct {
	Source string // the path, or "-" for stdin
	Data   []byte
}

// ReadPaths reads manifests the way `pacctl apply -f` names them: a FILE
// (any name), a DIR (its *.yaml, *.yml and *.json files, sorted by name, not
// recursive) or "-" for stdin (at most once). Each file may hold at most
// MaxFileBytes.
func ReadPaths(paths []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	readStdin := false
	for _, p := range paths {
		if p == "-" {
			if readStdin {
				return nil, errors.New(`"-" (stdin) given more than once`)
			}
			if stdin == nil {
				return nil, errors.New(`"-": no standard input`)
			}
			readStdin = true
			data, err := readLimited(stdin, "-", MaxFileBytes)
			if err != nil {
				return nil, err
			}
			out = append(out, Input{Source: "-", Data: data})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err // *PathError names the path
		}
		if !info.IsDir() {
			in, err := readFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, in)
			continue
		}
		entries, err := os.ReadDir(p) // sorted by name
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := filepath.Join(p, e.Name())
			if !isManifestName(name) {
				continue
			}
			if fi, err := os.Stat(name); err != nil || fi.IsDir() {
				if err != nil {
					return nil, err
				}
				continue
			}
			in, err := readFile(name)
			if err != nil {
				return nil, err
			}
			out = append(out, in)
		}
	}
	return out, nil
}

// isManifestName reports whether a file in a directory is read as a
// manifest.
func isManifestName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func readFile(name string) (Input, error) {
	f, err := os.Open(name)
	if err != nil {
		return Input{}, err
	}
	defer f.Close()
	data, err := readLimited(f, name, MaxFileBytes)
	if err != nil {
		return Input{}, err
	}
	return Input{Source: name, Data: data}, nil
}

func readLimited(r io.Reader, name string, limit int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("read %s: %w: over the limit of %d bytes", name, ErrTooLarge, limit)
	}
	return data, nil
}

// DecodePaths reads paths as ReadPaths does and decodes every document of
// every file. Read errors are returned as they are; decode problems of all
// files are returned together as one ErrorList, with no documents.
func (d Decoder) DecodePaths(paths []string, stdin io.Reader) ([]Document, error) {
	inputs, err := ReadPaths(paths, stdin)
	if err != nil {
		return nil, err
	}
	var docs []Document
	var all ErrorList
	for _, in := range inputs {
		got, err := d.DecodeDocuments(in.Source, in.Data)
		var list ErrorList
		switch {
		case errors.As(err, &list):
			all = append(all, list...)
		case err != nil:
			return nil, err
		default:
			docs = append(docs, got...)
		}
	}
	if len(all) > 0 {
		return nil, all
	}
	return docs, nil
}
