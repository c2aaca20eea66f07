package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"

	_ "github.com/vmware/govmomi/lookup/simulator" // the STS simulator needs the lookup service
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/sts"
	_ "github.com/vmware/govmomi/sts/simulator" // registers the STS endpoint
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/openpacific/pacific/services/authz"
)

// devSTS is govmomi's vCenter simulator serving its STS on loopback.
type devSTS struct {
	model *simulator.Model
	srv   *simulator.Server
	url   string
	// cert signs the simulator's assertions; dev's API server trusts it.
	cert *x509.Certificate
}

// startDevSTS starts the simulator and learns its signing certificate
// from one token it issues (the simulator signs with a fixed key).
func startDevSTS(ctx context.Context) (*devSTS, error) {
	model := simulator.VPX()
	if err := model.Create(); err != nil {
		return nil, fmt.Errorf("start the STS simulator: %w", err)
	}
	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0"}
	srv := model.Service.NewServer()
	d := &devSTS{model: model, srv: srv, url: "http://" + srv.URL.Host + sts.SystemPath}
	u, _ := url.Parse(d.url)
	sc := soap.NewClient(u, false).NewServiceClient(u.Path, sts.Namespace)
	signer, err := (&sts.Client{Client: sc, RoundTripper: sc}).Issue(ctx, sts.TokenRequest{Userinfo: url.UserPassword("probe", "probe")})
	if err == nil {
		d.cert, err = authz.EmbeddedSigningCertificate([]byte(signer.Token))
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("STS simulator: learn its signing certificate: %w", err)
	}
	return d, nil
}

func (d *devSTS) Close() {
	d.srv.Close()
	d.model.Remove()
}
