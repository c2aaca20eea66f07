package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// findTools locates skopeo and GNU tar. It installs nothing.
func findTools() (tools, error) {
	var t tools
	var err error
	if t.skopeo, err = exec.LookPath("skopeo"); err != nil {
		return t, errors.New("skopeo not found: install it with `apt-get install -y skopeo` (Debian), then run again")
	}
	if t.tar, err = exec.LookPath("tar"); err != nil {
		return t, errors.New("tar not found: install GNU tar (`apt-get install -y tar`)")
	}
	out, err := exec.Command(t.tar, "--version").Output()
	if err != nil || !bytes.Contains(out, []byte("GNU tar")) {
		return t, fmt.Errorf("%s is not GNU tar: install it (`apt-get install -y tar`)", t.tar)
	}
	if _, err := exec.LookPath("gzip"); err != nil {
		return t, errors.New("gzip not found (GNU tar's z option runs it): `apt-get install -y gzip`")
	}
	if _, err := os.Stat("/etc/containers/policy.json"); err != nil {
		// skopeo refuses to copy without a signature policy; Debian's
		// package installs an accept-anything one.
		t.skopeoArgs = []string{"--insecure-policy"}
	}
	return t, nil
}

// treeStats counts what an unpacked layer holds.
type treeStats struct {
	Files, Dirs, Symlinks, Other int
	Bytes                        int64
}

func statTree(dir string) (treeStats, error) {
	var st treeStats
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		switch t := d.Type(); {
		case t.IsDir():
			st.Dirs++
		case t&fs.ModeSymlink != 0:
			st.Symlinks++
		case t.IsRegular():
			st.Files++
			fi, err := d.Info()
			if err != nil {
				return err
			}
			st.Bytes += fi.Size()
		default:
			st.Other++
		}
		return nil
	})
	return st, err
}

// compareTrees checks that both sides unpacked the same entries.
func compareTrees(ours, bare []string) error {
	if len(ours) != len(bare) {
		return fmt.Errorf("ours unpacked %d layers, bare %d", len(ours), len(bare))
	}
	for i := range ours {
		a, err := statTree(ours[i])
		if err != nil {
			return err
		}
		b, err := statTree(bare[i])
		if err != nil {
			return err
		}
		if a != b {
			return fmt.Errorf("layer %d differs: ours %+v, bare %+v", i, a, b)
		}
	}
	return nil
}
