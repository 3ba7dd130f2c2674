package remote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validity periods. Node certificates are renewed by re-joining; there is no
// automatic rotation yet.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	nodeValidity = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so that nodes whose clocks lag slightly
	// behind the CA's accept a freshly issued certificate.
	clockSkew = 5 * time.Minute
)

// File names inside a CA or credentials directory.
const (
	caCertFile   = "ca.crt"
	caKeyFile    = "ca.key"
	nodeCertFile = "node.crt"
	nodeKeyFile  = "node.key"
)

// CA is the cluster certificate authority. It is created once at cluster
// init; its key signs every node certificate. Whoever holds the CA key can
// admit nodes, so the key file is written 0600 and should live only on the
// bootstrap node (or the nodes trusted to admit others).
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA creates a self-signed ECDSA P-256 CA valid for ten years.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new ca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "herd cluster CA", Organization: []string{"herd"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new ca: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new ca: parse certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads ca.crt and ca.key from dir.
func LoadCA(dir string) (*CA, error) {
	cert, err := readCertFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	key, err := readKeyFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	if !publicKeyMatches(cert, key) {
		return nil, fmt.Errorf("load ca: %s does not match %s", caKeyFile, caCertFile)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Save writes ca.crt (0644) and ca.key (0600) into dir, creating it 0700.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save ca: %w", err)
	}
	if err := writeCertFile(filepath.Join(dir, caCertFile), ca.Cert.Raw); err != nil {
		return fmt.Errorf("save ca: %w", err)
	}
	if err := writeKeyFile(filepath.Join(dir, caKeyFile), ca.Key); err != nil {
		return fmt.Errorf("save ca: %w", err)
	}
	return nil
}

// Fingerprint is the lowercase hex SHA-256 of the CA certificate's
// SubjectPublicKeyInfo (the same pin kubeadm's discovery hash uses). Joining
// nodes compare it with the fingerprint in their token before trusting the CA.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.Cert) }

// Fingerprint returns the SHA-256 pin of cert's public key, in lowercase hex.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// Issue makes a fresh key pair for nodeID and a certificate for it (see Sign).
// The bootstrap node uses it for itself; joining nodes use Join so that their
// private key never leaves them.
func (ca *CA) Issue(nodeID string, hosts []string) (*Credentials, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: generate key: %w", nodeID, err)
	}
	cert, err := ca.Sign(nodeID, hosts, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	return newCredentials(nodeID, cert, key, ca.Cert)
}

// Sign certifies pub as node nodeID, usable for both server and client auth.
// The common name is the node id; hosts become IP or DNS subject alternative
// names (a dialer checks the name it dialled against them).
func (ca *CA) Sign(nodeID string, hosts []string, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := ValidateNodeID(nodeID); err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	if len(hosts) > maxHosts {
		return nil, fmt.Errorf("issue certificate for %q: %d hosts, at most %d", nodeID, len(hosts), maxHosts)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: %w", nodeID, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeID, Organization: []string{"herd"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(nodeValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if h == "" || len(h) > 253 {
			return nil, fmt.Errorf("issue certificate for %q: bad host %q", nodeID, h)
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: %w", nodeID, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: parse: %w", nodeID, err)
	}
	return cert, nil
}

// maxHosts bounds the SAN list a join request may ask for.
const maxHosts = 32

// ValidateNodeID checks that id is usable as a node id: 1–64 characters from
// [A-Za-z0-9._-]. Node ids appear in certificates, Raft server ids and logs.
func ValidateNodeID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("node id %q: want 1 to 64 characters", id)
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("node id %q: character %q not allowed", id, c)
		}
	}
	return nil
}

// Credentials are what a node presents on the cluster port: its certificate
// and key, and the CA it trusts. The same certificate serves as server and
// client certificate.
type Credentials struct {
	NodeID string
	CA     *x509.Certificate
	// Cert holds the leaf followed by the CA certificate, so a joining client
	// (which has no CA yet) receives the CA in the handshake and can pin it.
	Cert tls.Certificate
	pool *x509.CertPool
}

func newCredentials(nodeID string, leaf *x509.Certificate, key crypto.Signer, ca *x509.Certificate) (*Credentials, error) {
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:     poolOf(ca),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, fmt.Errorf("credentials for %q: certificate not signed by the cluster CA: %w", nodeID, err)
	}
	if !publicKeyMatches(leaf, key) {
		return nil, fmt.Errorf("credentials for %q: key does not match certificate", nodeID)
	}
	return &Credentials{
		NodeID: nodeID,
		CA:     ca,
		Cert: tls.Certificate{
			Certificate: [][]byte{leaf.Raw, ca.Raw},
			PrivateKey:  key,
			Leaf:        leaf,
		},
		pool: poolOf(ca),
	}, nil
}

// LoadCredentials reads node.crt, node.key and ca.crt from dir.
func LoadCredentials(dir string) (*Credentials, error) {
	ca, err := readCertFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	leaf, err := readCertFile(filepath.Join(dir, nodeCertFile))
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	key, err := readKeyFile(filepath.Join(dir, nodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	c, err := newCredentials(leaf.Subject.CommonName, leaf, key, ca)
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	return c, nil
}

// Save writes node.crt, node.key (0600) and ca.crt into dir, creating it 0700.
func (c *Credentials) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	key, ok := c.Cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("save credentials: private key is not ECDSA")
	}
	if err := writeCertFile(filepath.Join(dir, caCertFile), c.CA.Raw); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := writeCertFile(filepath.Join(dir, nodeCertFile), c.Cert.Leaf.Raw); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := writeKeyFile(filepath.Join(dir, nodeKeyFile), key); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// Pool is a certificate pool holding only the cluster CA.
func (c *Credentials) Pool() *x509.CertPool { return c.pool }

// ServerTLS is the configuration of the cluster port. Client certificates are
// verified against the cluster CA when given; whether one is required
// depends on the service byte, so the listener checks that after the
// handshake (only 'J' may go without).
func (c *Credentials) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    c.pool,
	}
}

// ClientTLS is the configuration for dialling another node at addr
// ("host:port"): our certificate, the cluster CA as the only root, and the
// host checked against the peer's certificate.
func (c *Credentials) ClientTLS(addr string) *tls.Config {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Cert},
		RootCAs:      c.pool,
		ServerName:   host,
	}
}

func poolOf(ca *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca)
	return p
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial, nil
}

func publicKeyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

func writeCertFile(path string, der []byte) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeKeyFile(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFileAtomic writes through a temporary file so a crash never leaves a
// truncated key or certificate behind, and so the mode is right from the
// first byte (the key is never world-readable, not even briefly).
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readCertFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}

func readKeyFile(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: key is %T, want ECDSA", path, k)
	}
	return key, nil
}
