package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/openpacific/pacific/internal/netutil"
	"github.com/vmware/govmomi/sts"
	"github.com/vmware/govmomi/vim25/soap"
)

// fetchSAML asks a vSphere SSO STS for a SAML bearer token for username.
// Plain HTTP is accepted only for a loopback STS (the dev simulator);
// anything else must be HTTPS, verified against the system roots.
func fetchSAML(ctx context.Context, stsURL, username, password string) ([]byte, error) {
	u, err := parseSTSURL(stsURL)
	if err != nil {
		return nil, err
	}
	sc := soap.NewClient(u, false).NewServiceClient(u.Path, sts.Namespace)
	c := &sts.Client{Client: sc, RoundTripper: sc}
	signer, err := c.Issue(ctx, sts.TokenRequest{Userinfo: url.UserPassword(username, password)})
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("STS %s unreachable: %w", u.Redacted(), err)
		}
		return nil, fmt.Errorf("STS %s refused to issue a token for %q: %w", u.Redacted(), username, err)
	}
	if signer.Token == "" {
		return nil, fmt.Errorf("STS %s returned no token", u.Redacted())
	}
	return []byte(signer.Token), nil
}

func parseSTSURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--sts-url %q: want https://HOST/sts/STSService/DOMAIN", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("--sts-url: no credentials in the URL; use --username and --password-stdin")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !netutil.IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("--sts-url %q: plain http only for a loopback STS; use https", raw)
		}
	default:
		return nil, fmt.Errorf("--sts-url %q: scheme must be https (or http on loopback)", raw)
	}
	return u, nil
}
