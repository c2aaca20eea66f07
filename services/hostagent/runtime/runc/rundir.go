package runc

import (
	"fmt"
	"os"
	"path/filepath"
)

// prepareRunDir creates the run dir's parts. Sandboxes or bundles that a
// runtime from before RunDir existed left in StateDir keep the runtime on
// that layout until they are gone, so that it re-adopts their containers.
func (r *Runtime) prepareRunDir() error {
	o := &r.opts
	if o.RunDir != o.StateDir {
		for _, d := range []string{"sandboxes", "containers"} {
			if ents, _ := os.ReadDir(filepath.Join(o.StateDir, d)); len(ents) > 0 {
				r.log.Info("containers from before the run dir existed: keeping the volatile state in the state dir until they are gone", "state", o.StateDir)
				o.RunDir = o.StateDir
				break
			}
		}
	}
	for _, d := range []string{"runc", "sandboxes", "containers"} {
		if err := os.MkdirAll(filepath.Join(o.RunDir, d), 0o700); err != nil {
			return fmt.Errorf("run dir: %w", err)
		}
	}
	return nil
}
