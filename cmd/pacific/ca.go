package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/sdk/validation"
)

// Certificate kinds `pacific ca issue --kind` knows, and the identity each
// gets (docs/decisions/0024-internal-pki-and-mtls.md).
const (
	certKindAPIServer = "apiserver"
	certKindHost      = "host"
	certKindService   = "service"
	certKindUser      = "user"
)

// services that get a service certificate: their users are system:<name>.
var serviceNames = []string{"controllers", "scheduler", "imagesvc", "nats"}

// identityFor maps a kind and name to the certificate's user and groups.
func identityFor(kind, name string, groups []string) (user string, outGroups []string, err error) {
	if err := validation.DNS1123Subdomain(name); err != nil && kind != certKindUser {
		return "", nil, fmt.Errorf("--name %q: %v", name, err)
	}
	switch kind {
	case certKindAPIServer:
		return grpcserver.APIServerUserPrefix + name, []string{grpcserver.GroupAPIServers}, nil
	case certKindHost:
		return grpcserver.HostUserPrefix + name, []string{grpcserver.GroupHosts}, nil
	case certKindService:
		if !slices.Contains(serviceNames, name) {
			return "", nil, fmt.Errorf("--name %q: want one of %v for --kind service", name, serviceNames)
		}
		return "system:" + name, nil, nil
	case certKindUser:
		if name == "" {
			return "", nil, errors.New("--name is required")
		}
		return name, groups, nil
	}
	return "", nil, fmt.Errorf("--kind %q: want apiserver, host, service or user", kind)
}

func newCACommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Manage the internal certificate authority",
		Long: `Manage Pacific's internal certificate authority. Every service, host agent
and API server replica proves its identity with a certificate from it, and
every internal connection (gRPC, Raft, NATS) is TLS verified against it.
'pacific dev' does all of this by itself in DATA/pki.

Production: run 'pacific ca init' once on a safe machine, then issue one
certificate per replica, host and service and copy NAME.crt, NAME.key and
ca.crt to it (keep ca.key on the safe machine).`,
		Example: `  pacific ca init --dir /etc/pacific/ca
  pacific ca issue --dir /etc/pacific/ca --kind apiserver --name a --host 10.0.0.1 --out /tmp/a
  pacific ca issue --dir /etc/pacific/ca --kind host --name host-1 --host 10.0.0.11 --out /tmp/host-1
  pacific ca issue --dir /etc/pacific/ca --kind service --name controllers --out /tmp/controllers`,
	}
	var dir string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create the CA (ECDSA P-256) in --dir, if it has none",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			_, created, err := pki.InitCA(dir)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(stdout, "created CA in %s (%s, %s mode 0600)\n", dir, pki.CACertFile, pki.CAKeyFile)
			} else {
				fmt.Fprintf(stdout, "CA in %s exists; left unchanged\n", dir)
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&dir, "dir", "", "CA directory (required)")

	var kind, name, out string
	var hosts, groups []string
	issueCmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a certificate: NAME.crt, NAME.key (0600) and ca.crt into --out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			user, gs, err := identityFor(kind, name, groups)
			if err != nil {
				return err
			}
			ca, err := pki.LoadCA(dir)
			if err != nil {
				return err
			}
			usage := pki.UsageClientServer
			if kind == certKindUser {
				usage = pki.UsageClient
			}
			id, err := ca.Issue(pki.Request{User: user, Groups: gs, Hosts: hosts, Usage: usage})
			if err != nil {
				return err
			}
			if out == "" {
				out = dir
			}
			if err := id.Save(out, name); err != nil {
				return err
			}
			if filepath.Clean(out) != filepath.Clean(dir) {
				if err := os.WriteFile(filepath.Join(out, pki.CACertFile), ca.CertPEM, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", pki.CACertFile, err)
				}
			}
			fmt.Fprintf(stdout, "issued %s (user %q, groups %v) into %s\n", name, user, gs, out)
			return nil
		},
	}
	f := issueCmd.Flags()
	f.StringVar(&dir, "dir", "", "CA directory (required)")
	f.StringVar(&kind, "kind", "", "apiserver, host, service or user")
	f.StringVar(&name, "name", "", "replica ID, host name, service (controllers, scheduler, imagesvc, nats) or user name")
	f.StringArrayVar(&hosts, "host", nil, "DNS name or IP the certificate serves (repeatable)")
	f.StringArrayVar(&groups, "group", nil, "group of a user certificate (repeatable), e.g. system:masters")
	f.StringVar(&out, "out", "", "output directory (default --dir)")
	cmd.AddCommand(initCmd, issueCmd)
	return cmd
}

// devPKI bootstraps dev mode's CA in dir and issues what the dev services
// need, each once: API server, controllers, image service, NATS and the
// local host. Loopback names only.
func devPKI(dir, hostName string) (ca *pki.CA, bundles map[string]*pki.Bundle, err error) {
	ca, _, err = pki.InitCA(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %w", err)
	}
	want := []struct{ file, kind, name string }{
		{"apiserver-dev", certKindAPIServer, "dev"},
		{"controllers", certKindService, "controllers"},
		{"scheduler", certKindService, "scheduler"},
		{"imagesvc", certKindService, "imagesvc"},
		{"nats", certKindService, "nats"},
		{"host-" + hostName, certKindHost, hostName},
	}
	bundles = map[string]*pki.Bundle{}
	for _, w := range want {
		b, err := pki.LoadBundle(dir, w.file)
		if errors.Is(err, os.ErrNotExist) {
			user, groups, ierr := identityFor(w.kind, w.name, nil)
			if ierr != nil {
				return nil, nil, ierr
			}
			if b, err = ca.LoopbackBundle(user, groups...); err == nil {
				err = b.Identity.Save(dir, w.file)
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("dev certificate %s: %w", w.file, err)
		}
		bundles[w.file] = b
	}
	return ca, bundles, nil
}
