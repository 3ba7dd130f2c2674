package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// JoinRequest is what a joining node sends on a 'J' connection.
type JoinRequest struct {
	Token  string   `json:"token"`
	NodeID string   `json:"node_id"`
	Hosts  []string `json:"hosts"` // names and IPs the node is reachable at
	// CSR is a DER PKCS#10 request carrying the node's public key; its
	// signature proves the joiner holds the private key, which never leaves
	// the node. Its subject is ignored: NodeID and Hosts are what is signed.
	CSR []byte `json:"csr"`
}

// JoinResponse carries the new node certificate and the CA, both DER.
type JoinResponse struct {
	Certificate []byte `json:"certificate"`
	CA          []byte `json:"ca"`
}

// JoinHandler admits nodes. HandleJoin is called once per 'J' connection,
// with a context that expires with the handshake timeout; it returns the
// signed certificate, or an error whose text is sent to the joiner (so it
// must not contain secrets).
type JoinHandler interface {
	HandleJoin(ctx context.Context, req *JoinRequest) (*JoinResponse, error)
}

// Authority is the JoinHandler of a node holding the CA key: it checks the
// token against its store and signs the joiner's key.
type Authority struct {
	CA     *CA
	Tokens *TokenStore
	Logger *slog.Logger // default slog.Default()
}

// HandleJoin implements JoinHandler.
func (a *Authority) HandleJoin(ctx context.Context, req *JoinRequest) (*JoinResponse, error) {
	log := a.Logger
	if log == nil {
		log = slog.Default()
	}
	tok, err := ParseToken(req.Token)
	if err != nil {
		return nil, fmt.Errorf("join %q: %w", req.NodeID, err)
	}
	if err := a.Tokens.Verify(tok, a.CA.Fingerprint()); err != nil {
		return nil, fmt.Errorf("join %q: %w", req.NodeID, err)
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, fmt.Errorf("join %q: parse CSR: %w", req.NodeID, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("join %q: CSR signature: %w", req.NodeID, err)
	}
	if pub, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("join %q: CSR key must be ECDSA P-256", req.NodeID)
	}
	cert, err := a.CA.Sign(req.NodeID, req.Hosts, csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("join %q: %w", req.NodeID, err)
	}
	log.Info("remote: node joined", "node", req.NodeID, "hosts", req.Hosts, "token", tok.ID)
	return &JoinResponse{Certificate: cert.Raw, CA: a.CA.Cert.Raw}, nil
}

// serveJoin runs the one request/response exchange of a 'J' connection.
func serveJoin(ctx context.Context, c net.Conn, h JoinHandler) error {
	f, err := ReadFrame(c, maxJoinPayload)
	if err != nil {
		return fmt.Errorf("join: read request: %w", err)
	}
	if f.Type != MsgJoin || f.Flags != 0 {
		return fmt.Errorf("join: got %v frame with flags %#x, want a join request", f.Type, f.Flags)
	}
	var req JoinRequest
	if err := DecodePayload(f.Payload, &req); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	resp, herr := h.HandleJoin(ctx, &req)
	hdr := Header{Flags: FlagResponse, Type: MsgJoin, ID: f.ID}
	var payload []byte
	if herr != nil {
		hdr.Flags |= FlagError
		payload = encodeError(herr)
	} else if payload, err = encodePayload(resp); err != nil {
		return fmt.Errorf("join: encode response: %w", err)
	}
	if err := WriteFrame(c, hdr, payload); err != nil {
		return fmt.Errorf("join: write response: %w", err)
	}
	return herr
}

// Join asks the node at addr for a certificate, presenting token. It makes a
// fresh key pair, trusts the server only if its chain includes a CA whose
// fingerprint equals the token's, and returns credentials ready to Save.
func Join(ctx context.Context, addr, token, nodeID string, hosts []string) (*Credentials, error) {
	tok, err := ParseToken(token)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", addr, err)
	}
	if err := ValidateNodeID(nodeID); err != nil {
		return nil, fmt.Errorf("join %s: %w", addr, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("join %s: generate key: %w", addr, err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: nodeID},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("join %s: create CSR: %w", addr, err)
	}
	resp, pinned, err := joinExchange(ctx, addr, tok.CAFingerprint, &JoinRequest{Token: token, NodeID: nodeID, Hosts: hosts, CSR: csr})
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(resp.Certificate)
	if err != nil {
		return nil, fmt.Errorf("join %s: parse certificate: %w", addr, err)
	}
	ca, err := x509.ParseCertificate(resp.CA)
	if err != nil {
		return nil, fmt.Errorf("join %s: parse CA: %w", addr, err)
	}
	if pinned == nil || !ca.Equal(pinned) {
		return nil, fmt.Errorf("join %s: response CA differs from the pinned CA", addr)
	}
	creds, err := newCredentials(nodeID, leaf, key, ca)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", addr, err)
	}
	if leaf.Subject.CommonName != nodeID {
		return nil, fmt.Errorf("join %s: certificate is for %q, asked for %q", addr, leaf.Subject.CommonName, nodeID)
	}
	return creds, nil
}

// joinExchange sends req on a 'J' connection to addr and returns the
// answer and the CA, of fingerprint caFingerprint, that the server's
// chain was pinned to.
func joinExchange(ctx context.Context, addr, caFingerprint string, req *JoinRequest) (*JoinResponse, *x509.Certificate, error) {
	var pinned *x509.Certificate
	conf := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The chain is checked below against the pinned CA instead of system
		// roots; nothing is trusted before that check passes.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			ca, err := verifyPinned(cs.PeerCertificates, caFingerprint)
			pinned = ca
			return err
		},
	}
	// WithTimeout keeps ctx's own deadline when it is sooner.
	ctx, cancel := context.WithTimeout(ctx, DefaultHandshakeTimeout)
	defer cancel()
	c, err := dialService(ctx, addr, conf, ServiceJoin)
	if err != nil {
		return nil, nil, fmt.Errorf("join: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	payload, err := encodePayload(req)
	if err != nil {
		return nil, nil, fmt.Errorf("join %s: %w", addr, err)
	}
	if err := WriteFrame(c, Header{Type: MsgJoin, ID: 1}, payload); err != nil {
		return nil, nil, fmt.Errorf("join %s: send request: %w", addr, ctxErr(ctx, err))
	}
	f, err := ReadFrame(c, maxJoinPayload)
	if err != nil {
		return nil, nil, fmt.Errorf("join %s: read response: %w", addr, ctxErr(ctx, err))
	}
	if f.Type != MsgJoin || f.Flags&FlagResponse == 0 || f.ID != 1 {
		return nil, nil, fmt.Errorf("join %s: unexpected %v frame", addr, f.Type)
	}
	if f.Flags&FlagError != 0 {
		return nil, nil, fmt.Errorf("join %s: refused: %w", addr, decodeError(addr, MsgJoin, f.Payload))
	}
	var resp JoinResponse
	if err := DecodePayload(f.Payload, &resp); err != nil {
		return nil, nil, fmt.Errorf("join %s: %w", addr, err)
	}
	return &resp, pinned, nil
}

// verifyPinned finds, among the certificates a server presented, a CA whose
// fingerprint is fp, and checks that the leaf chains to it for server auth.
func verifyPinned(certs []*x509.Certificate, fp string) (*x509.Certificate, error) {
	if len(certs) == 0 {
		return nil, errors.New("server presented no certificate")
	}
	for _, c := range certs[1:] {
		if c.IsCA && Fingerprint(c) == fp {
			_, err := certs[0].Verify(x509.VerifyOptions{
				Roots:     poolOf(c),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				return nil, fmt.Errorf("server certificate does not chain to the pinned CA: %w", err)
			}
			return c, nil
		}
	}
	return nil, fmt.Errorf("server's CA does not match the token's fingerprint %.16s…", fp)
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
