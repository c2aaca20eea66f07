package natsauth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/openpacific/pacific/internal/audit"
	"github.com/openpacific/pacific/internal/events"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/internal/prefetch"
)

// Authenticator maps verified client certificates to NATS users with
// per-service permissions. It implements server.Authentication.
type Authenticator struct {
	log *slog.Logger
}

// New returns an Authenticator logging refusals to log (nil discards).
func New(log *slog.Logger) *Authenticator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{log: log}
}

// Check admits a client whose verified certificate names an identity with
// permissions and registers it as that user.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
	peer, ok := pki.VerifiedPeer(c.GetTLSConnectionState())
	if !ok {
		a.log.Warn("NATS client refused: no verified client certificate", "remote", c.RemoteAddress())
		return false
	}
	perms := Permissions(peer)
	if perms == nil {
		a.log.Warn("NATS client refused: identity has no NATS permissions", "user", peer.User, "remote", c.RemoteAddress())
		return false
	}
	c.RegisterUser(&server.User{Username: peer.User, Permissions: perms})
	return true
}

// Permissions returns what peer may do on NATS, or nil if nothing (it is
// then refused).
//
//   - API servers (group system:apiservers) publish the change feed and the
//     audit stream and manage those two streams.
//   - The scheduler queues image prefetch requests for any host.
//   - Hosts (group system:hosts, user system:host:NAME) create the prefetch
//     work queue and consume only their own durable consumer on
//     pacific.v1.prefetch.NAME.
//
// Everyone subscribes only to its own reply inboxes (InboxPrefix), which
// JetStream API calls need: nobody reads another identity's replies.
func Permissions(peer pki.Peer) *server.Permissions {
	switch {
	case slices.Contains(peer.Groups, grpcserver.GroupAPIServers):
		pub := []string{
			events.SubjectPrefix + ".>",
			audit.SubjectPrefix + ">",
			jsAPI + "INFO",
		}
		for _, stream := range []string{events.StreamName, audit.StreamName} {
			pub = append(pub, streamManage(stream)...)
		}
		pub = append(pub, jsAPI+"STREAM.MSG.GET."+events.StreamName, jsAPI+"DIRECT.GET."+events.StreamName+".>")
		return perms(peer.User, pub)
	case peer.User == grpcserver.UserScheduler:
		return perms(peer.User, []string{prefetch.SubjectPrefix + ".>"})
	case slices.Contains(peer.Groups, grpcserver.GroupHosts) && strings.HasPrefix(peer.User, grpcserver.HostUserPrefix):
		host := strings.TrimPrefix(peer.User, grpcserver.HostUserPrefix)
		if _, err := prefetch.Subject(host); err != nil {
			return nil
		}
		durable := prefetch.Durable(host)
		stream := prefetch.StreamName
		pub := append(streamManage(stream),
			jsAPI+"INFO",
			jsAPI+"CONSUMER.CREATE."+stream+"."+durable,
			jsAPI+"CONSUMER.CREATE."+stream+"."+durable+".>",
			jsAPI+"CONSUMER.INFO."+stream+"."+durable,
			jsAPI+"CONSUMER.MSG.NEXT."+stream+"."+durable,
			"$JS.ACK."+stream+"."+durable+".>",
		)
		return perms(peer.User, pub)
	}
	return nil
}

const jsAPI = "$JS.API."

// streamManage is create, update and look up stream (not delete or purge).
func streamManage(stream string) []string {
	return []string{jsAPI + "STREAM.CREATE." + stream, jsAPI + "STREAM.UPDATE." + stream, jsAPI + "STREAM.INFO." + stream}
}

func perms(user string, publish []string) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: publish},
		Subscribe: &server.SubjectPermission{Allow: []string{InboxPrefix(user) + ".>"}},
	}
}

// InboxPrefix is where NATS user gets its replies: a prefix of its own
// (the user name hex-encoded, as names may hold dots), instead of the
// shared _INBOX.
func InboxPrefix(user string) string { return "_INBOX_" + hex.EncodeToString([]byte(user)) }

// ClientOptions are the options of a client whose NATS identity is the
// certificate of tlsCfg: TLS, and replies on that identity's inbox prefix.
func ClientOptions(tlsCfg *tls.Config) ([]nats.Option, error) {
	if len(tlsCfg.Certificates) == 0 || len(tlsCfg.Certificates[0].Certificate) == 0 {
		return nil, errors.New("NATS client TLS: no client certificate")
	}
	leaf := tlsCfg.Certificates[0].Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(tlsCfg.Certificates[0].Certificate[0]); err != nil {
			return nil, fmt.Errorf("NATS client TLS: %w", err)
		}
	}
	return []nats.Option{nats.Secure(tlsCfg), nats.CustomInboxPrefix(InboxPrefix(pki.PeerOf(leaf).User))}, nil
}
