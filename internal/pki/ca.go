package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside a PKI directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// Validity periods.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 365 * 24 * time.Hour
)

// CA is a certificate authority that can issue certificates.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// NewCA makes a CA in memory (tests, or before Save).
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"pacific"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// InitCA loads the CA in dir, creating it if dir has none. created says
// which happened.
func InitCA(dir string) (ca *CA, created bool, err error) {
	ca, err = LoadCA(dir)
	if err == nil {
		return ca, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	ca, err = NewCA("pacific-ca")
	if err != nil {
		return nil, false, err
	}
	if err := ca.Save(dir); err != nil {
		return nil, false, err
	}
	return ca, true, nil
}

// Save writes ca.crt (0644) and ca.key (0600) into dir, never overwriting.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CACertFile), ca.CertPEM, 0o644)
}

// LoadCA reads ca.crt and ca.key from dir. A missing CA matches
// os.ErrNotExist.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: read CA: %w", err)
	}
	keyFile := filepath.Join(dir, CAKeyFile)
	if err := checkPrivate(keyFile); err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: CA in %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: CA key in %s is not ECDSA", dir)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate in %s: %w", dir, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", filepath.Join(dir, CACertFile))
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}

// Pool returns a cert pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Usage says what a certificate may be used for.
type Usage int

const (
	// UsageClientServer is for services: they serve and they call others.
	UsageClientServer Usage = iota
	// UsageClient is for callers only (e.g. a person's client cert).
	UsageClient
)

// Request describes a certificate to issue.
type Request struct {
	// User becomes the CN, Groups the O entries.
	User   string
	Groups []string
	// Hosts are DNS names or IP addresses the certificate serves.
	Hosts []string
	Usage Usage
	// Validity defaults to CertValidity.
	Validity time.Duration
}

// Identity is an issued certificate with its key, in PEM.
type Identity struct {
	CertPEM []byte
	KeyPEM  []byte
}

// TLSCertificate parses the pair.
func (id Identity) TLSCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: %w", err)
	}
	return c, nil
}

// Issue signs a new key pair for req.
func (ca *CA) Issue(req Request) (Identity, error) {
	if strings.TrimSpace(req.User) == "" {
		return Identity{}, errors.New("pki: a certificate needs a user (CN)")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: generate key: %w", err)
	}
	validity := req.Validity
	if validity == 0 {
		validity = CertValidity
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: req.User, Organization: req.Groups},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if req.Usage == UsageClientServer {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	for _, h := range req.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: sign certificate for %s: %w", req.User, err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return Identity{}, err
	}
	return Identity{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM}, nil
}

// Save writes NAME.crt and NAME.key (0600) into dir, replacing old ones.
func (id Identity) Save(dir, name string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, name+".key"), id.KeyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, name+".crt"), id.CertPEM, 0o644)
}

// LoadIdentity reads NAME.crt and NAME.key from dir.
func LoadIdentity(dir, name string) (Identity, error) {
	keyFile := filepath.Join(dir, name+".key")
	if err := checkPrivate(keyFile); err != nil {
		return Identity{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, name+".crt"))
	if err != nil {
		return Identity{}, fmt.Errorf("pki: %w", err)
	}
	return Identity{CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// checkPrivate refuses a key file others can read.
func checkPrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("pki: %s is accessible by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	return nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("pki: random serial: %v", err)) // crypto/rand does not fail on Linux
	}
	return n
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := writeNew(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// LoopbackBundle issues a certificate for user in groups valid for
// 127.0.0.1, ::1 and localhost, bundled with the CA (benchmarks, tests).
func (ca *CA) LoopbackBundle(user string, groups ...string) (*Bundle, error) {
	id, err := ca.Issue(Request{User: user, Groups: groups, Hosts: []string{"127.0.0.1", "::1", "localhost"}})
	if err != nil {
		return nil, err
	}
	return &Bundle{CAPEM: ca.CertPEM, Identity: id}, nil
}
