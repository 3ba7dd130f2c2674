package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"
)

type echoReq struct {
	N     int    `json:"n"`
	Text  string `json:"text"`
	Delay int    `json:"delay_ms"`
	Errno int    `json:"errno,omitempty"`
}

type echoResp struct {
	N    int    `json:"n"`
	Text string `json:"text"`
	Peer string `json:"peer"`
}

const msgEcho MsgType = 100

// echoMsg is a test row of the message table.
var echoMsg = func() Msg[echoReq, echoResp] {
	msgTable[msgEcho] = msgRow{name: "echo"}
	return Bind[echoReq, echoResp](msgEcho)
}()

func handleEcho(ctx context.Context, peer string, r *echoReq) (*echoResp, error) {
	if r.Errno != 0 {
		return nil, fmt.Errorf("echo %d: %w", r.N, syscall.Errno(r.Errno))
	}
	if r.Delay > 0 {
		select {
		case <-time.After(time.Duration(r.Delay) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if r.N < 0 {
		return nil, fmt.Errorf("negative n %d", r.N)
	}
	return &echoResp{N: r.N, Text: r.Text, Peer: peer}, nil
}

func TestCASaveLoad(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode %v, want 0600", st.Mode().Perm())
	}
	ca2, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca2.Cert.Equal(ca.Cert) || !ca2.Key.Equal(ca.Key) || ca2.Fingerprint() != ca.Fingerprint() {
		t.Fatal("loaded CA differs")
	}
	if d := time.Until(ca.Cert.NotAfter); d < 9*365*24*time.Hour {
		t.Errorf("CA valid for %v, want ~10 years", d)
	}

	creds := issue(t, ca, "node-a")
	if creds.Cert.Leaf.Subject.CommonName != "node-a" || len(creds.Cert.Leaf.IPAddresses) != 1 || creds.Cert.Leaf.DNSNames[0] != "localhost" {
		t.Fatalf("leaf: CN %q IPs %v DNS %v", creds.Cert.Leaf.Subject.CommonName, creds.Cert.Leaf.IPAddresses, creds.Cert.Leaf.DNSNames)
	}
	ndir := filepath.Join(dir, "node")
	if err := creds.Save(ndir); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(ndir, "node.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("node.key mode %v, want 0600", st.Mode().Perm())
	}
	c2, err := LoadCredentials(ndir)
	if err != nil {
		t.Fatal(err)
	}
	if c2.NodeID != "node-a" || !c2.CA.Equal(ca.Cert) {
		t.Fatalf("loaded credentials: id %q", c2.NodeID)
	}
	// Credentials signed by another CA do not load against this one.
	other := issue(t, newTestCA(t), "node-a")
	os.WriteFile(filepath.Join(ndir, "ca.crt"), []byte{}, 0o644)
	if _, err := LoadCredentials(ndir); err == nil {
		t.Fatal("loaded credentials with an empty ca.crt")
	}
	if err := other.Save(ndir); err != nil {
		t.Fatal(err)
	}
	writeCertFile(filepath.Join(ndir, "ca.crt"), ca.Cert.Raw)
	if _, err := LoadCredentials(ndir); err == nil {
		t.Fatal("loaded a certificate of a foreign CA")
	}
}

func TestIssueRejectsBadNodeID(t *testing.T) {
	ca := newTestCA(t)
	for _, id := range []string{"", "a b", "x/y", strings.Repeat("a", 65), "é"} {
		if _, err := ca.Issue(id, nil); err == nil {
			t.Errorf("Issue(%q) succeeded", id)
		}
	}
}

// echoPair starts node-a serving echo and returns it with node-b's client
// of it, closed when the test ends.
func echoPair(t *testing.T) (*testNode, *Client) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	Handle(a.srv, echoMsg, handleEcho)
	c := NewClient(a.addr, issue(t, ca, "node-b"))
	t.Cleanup(func() { c.Close() })
	return a, c
}

func TestRPCRoundTrip(t *testing.T) {
	a, c := echoPair(t)

	var resp echoResp
	if err := c.call(ctxT(t), msgEcho, &echoReq{N: 7, Text: "hi"}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp != (echoResp{N: 7, Text: "hi", Peer: "node-b"}) {
		t.Fatalf("resp %+v", resp)
	}
	if err := c.call(ctxT(t), MsgPing, nil, nil); err != nil {
		t.Fatal(err)
	}

	// Handler errors come back as RemoteError naming the peer and type.
	err := c.call(ctxT(t), msgEcho, &echoReq{N: -1}, &resp)
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "negative n -1") || re.Peer != "node-a ("+a.addr+")" {
		t.Fatalf("handler error: %v", err)
	}
	// Unknown types are an error, and the connection stays usable.
	if err := c.call(ctxT(t), 999, nil, nil); err == nil || !strings.Contains(err.Error(), "no handler for msg#999") {
		t.Fatalf("unknown type: %v", err)
	}
	if err := c.call(ctxT(t), msgEcho, &echoReq{N: 8}, &resp); err != nil || resp.N != 8 {
		t.Fatalf("after errors: %v %+v", err, resp)
	}
}

func TestTypedCall(t *testing.T) {
	_, c := echoPair(t)

	resp, err := Call(ctxT(t), c, echoMsg, &echoReq{N: 3, Text: "typed"})
	if err != nil || *resp != (echoResp{N: 3, Text: "typed", Peer: "node-b"}) {
		t.Fatalf("typed call: %+v, %v", resp, err)
	}
	if _, err := Call(ctxT(t), c, Ping, nil); err != nil {
		t.Fatal(err)
	}
	// An errno crosses the wire as itself.
	_, err = Call(ctxT(t), c, echoMsg, &echoReq{N: 4, Errno: int(unix.ESRCH)})
	var errno syscall.Errno
	if !errors.Is(err, unix.ESRCH) || !errors.As(err, &errno) || errno != unix.ESRCH || !strings.Contains(err.Error(), "echo 4") {
		t.Fatalf("remote ESRCH arrived as %v (%#v)", err, err)
	}
	// A plain error has none.
	_, err = Call(ctxT(t), c, echoMsg, &echoReq{N: -1})
	if errors.As(err, &errno) {
		t.Fatalf("plain error arrived with errno %v", errno)
	}
}

func TestBindChecksTheTable(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("unknown number", func() { Bind[Empty, Empty](999) })
	mustPanic("other types", func() { Bind[echoResp, echoReq](msgEcho) })
	if m := Bind[echoReq, echoResp](msgEcho); m != echoMsg || m.String() != "echo" {
		t.Fatalf("rebinding the same types: %v", m)
	}
}

func TestConcurrentCalls(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	Handle(a.srv, echoMsg, handleEcho)
	c := NewClient(a.addr, issue(t, ca, "node-b"))
	defer c.Close()

	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resp echoResp
			text := strings.Repeat("x", i*100)
			if err := c.call(ctxT(t), msgEcho, &echoReq{N: i, Text: text, Delay: (n - i) % 7}, &resp); err != nil {
				errs <- err
				return
			}
			if resp.N != i || resp.Text != text {
				errs <- fmt.Errorf("call %d got response %d", i, resp.N)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cc == nil || len(c.cc.pending) != 0 {
		t.Fatalf("pending calls left: %v", c.cc)
	}
}

func TestCallCancel(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	started, cancelled := make(chan struct{}), make(chan struct{})
	a.srv.handle(msgEcho, func(ctx context.Context, req *Request) (any, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	})
	c := NewClient(a.addr, issue(t, ca, "node-b"))
	defer c.Close()

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := c.call(ctx, msgEcho, &echoReq{}, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "call echo to node-a") {
		t.Fatalf("cancelled call: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("server handler was not cancelled")
	}
	if err := c.call(ctxT(t), MsgPing, nil, nil); err != nil {
		t.Fatalf("connection unusable after a cancel: %v", err)
	}
}

func TestPeerClosesMidCall(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	started := make(chan struct{}, 8)
	a.srv.handle(msgEcho, func(ctx context.Context, req *Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	c := NewClient(a.addr, issue(t, ca, "node-b"))
	defer c.Close()

	const n = 3
	errs := make(chan error, n)
	for range n {
		go func() { errs <- c.call(ctxT(t), msgEcho, &echoReq{}, nil) }()
	}
	for range n {
		<-started
	}
	a.srv.Close() // drops every connection: all pending calls must fail
	for range n {
		err := <-errs
		if err == nil || !strings.Contains(err.Error(), "call echo to node-a ("+a.addr+"): connection lost") {
			t.Errorf("pending call: %v", err)
		}
	}
	// A later call redials; the closed server refuses, with an error.
	if err := c.call(ctxT(t), MsgPing, nil, nil); err == nil {
		t.Fatal("call after server close succeeded")
	}
}

func TestForeignCARefused(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	foreign := issue(t, newTestCA(t), "node-evil")

	c := NewClient(a.addr, foreign)
	defer c.Close()
	if err := c.call(ctxT(t), MsgPing, nil, nil); err == nil {
		t.Fatal("client with a foreign certificate was served")
	}
	a.log.waitFor(t, "refused connection", "tls handshake")

	// A client of the right CA still gets in.
	good := NewClient(a.addr, issue(t, ca, "node-b"))
	defer good.Close()
	if err := good.call(ctxT(t), MsgPing, nil, nil); err != nil {
		t.Fatal(err)
	}
	// And the node refuses a server from a foreign CA when it dials.
	evil := startNode(t, newTestCA(t), "node-evil")
	c2 := NewClient(evil.addr, issue(t, ca, "node-b"))
	defer c2.Close()
	if err := c2.call(ctxT(t), MsgPing, nil, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dialled a server of a foreign CA: %v", err)
	}
}

// rawDial opens a TLS connection without a client certificate (or with
// creds) and writes service.
func rawDial(t *testing.T, addr string, service byte, creds *Credentials) *tls.Conn {
	t.Helper()
	conf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if creds != nil {
		conf = creds.ClientTLS(addr)
	}
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte{service}); err != nil {
		t.Fatal(err)
	}
	return c
}

// expectClosed checks the server closes c without answering a ping.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	WriteFrame(c, Header{Type: MsgPing, ID: 1}, nil)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if f, err := ReadFrame(c, 0); err == nil {
		t.Fatalf("server answered: %+v", f)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("server did not close the connection")
	}
}

func TestNoCertRefused(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	for _, svc := range []byte{ServiceRPC, ServiceRaft} {
		expectClosed(t, rawDial(t, a.addr, svc, nil))
	}
	a.log.waitFor(t, "no client certificate", "service='H'", "service='R'")
}

func TestBadSelectorAndGarbage(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	b := issue(t, ca, "node-b")

	expectClosed(t, rawDial(t, a.addr, 'X', b))
	a.log.waitFor(t, "unknown service byte")

	// Not TLS at all.
	raw, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, raw)
	raw.Close()
	a.log.waitFor(t, "tls handshake")

	// Garbage frames on an authenticated connection drop that connection.
	for _, junk := range [][]byte{
		[]byte("hello world, this is not a frame"),
		{'h', 'F', 9, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},             // bad version
		{'h', 'F', 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, // too long
		{'h', 'F', 1, FlagResponse, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},  // response from client
		{'h', 'F', 1, 0x80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},          // unknown flag
	} {
		c := rawDial(t, a.addr, ServiceRPC, b)
		c.Write(junk)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if f, err := ReadFrame(c, 0); err == nil {
			t.Fatalf("server answered junk %q: %+v", junk, f)
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("server kept a connection that sent %q", junk)
		}
	}
	a.log.waitFor(t, "dropping connection", "bad magic", "unsupported version", "payload too long", "client sent a response frame", "unknown or contradictory flags")

	// The server carries on.
	c := NewClient(a.addr, b)
	defer c.Close()
	if err := c.call(ctxT(t), MsgPing, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestJoin(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	Handle(a.srv, echoMsg, handleEcho)
	tok, err := a.tokens.Create(ca.Fingerprint(), 0)
	if err != nil {
		t.Fatal(err)
	}

	creds, err := Join(ctxT(t), a.addr, tok.String(), "node-c", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if creds.NodeID != "node-c" || !creds.CA.Equal(ca.Cert) {
		t.Fatalf("joined credentials: %q", creds.NodeID)
	}
	// The new certificate works for RPC, and the token is reusable.
	c := NewClient(a.addr, creds)
	defer c.Close()
	var resp echoResp
	if err := c.call(ctxT(t), msgEcho, &echoReq{N: 1}, &resp); err != nil || resp.Peer != "node-c" {
		t.Fatalf("call with joined cert: %v %+v", err, resp)
	}
	if _, err := Join(ctxT(t), a.addr, tok.String(), "node-d", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}

	bad := tok
	bad.Secret = append([]byte(nil), tok.Secret...)
	bad.Secret[0] ^= 1
	unknown := tok
	unknown.ID = "0123456789abcdef"
	expired, err := a.tokens.Create(ca.Fingerprint(), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	a.tokens.Revoke(tok.ID)
	otherCA := newTestCA(t)
	wrongCA := tok
	wrongCA.CAFingerprint = otherCA.Fingerprint()

	for _, tc := range []struct {
		name, token, want string
	}{
		{"wrong secret", bad.String(), "join token unknown or invalid"},
		{"unknown id", unknown.String(), "join token unknown or invalid"},
		{"revoked", tok.String(), "join token unknown or invalid"},
		{"expired", expired.String(), "join token expired"},
		{"wrong CA pin", wrongCA.String(), "does not match the token's fingerprint"},
		{"malformed", "herd1.abc", "join token malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Join(ctxT(t), a.addr, tc.token, "node-e", []string{"127.0.0.1"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Join: %v, want %q", err, tc.want)
			}
		})
	}

	// A listener without a join handler refuses 'J'.
	l, err := Listen("127.0.0.1:0", ListenerConfig{Credentials: a.creds, Logger: a.srv.log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tok2, _ := a.tokens.Create(ca.Fingerprint(), 0)
	if _, err := Join(ctxT(t), l.Addr().String(), tok2.String(), "node-f", nil); err == nil {
		t.Fatal("join served without a join handler")
	}
}

func TestTokenStorePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	s, err := OpenTokenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	fp := newTestCA(t).Fingerprint()
	tok, err := s.Create(fp, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), tok.String()[len(tok.String())-43:]) {
		t.Fatal("token store holds the secret")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("token store mode %v", st.Mode().Perm())
	}
	s2, err := OpenTokenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Verify(tok, fp); err != nil {
		t.Fatal(err)
	}
	s2.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := s2.Verify(tok, fp); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Verify after expiry: %v", err)
	}
}

// TestRaftOverStreamLayer runs a two-node Raft cluster over cluster ports.
func TestRaftOverStreamLayer(t *testing.T) {
	ca := newTestCA(t)
	nodes := []*testNode{startNode(t, ca, "node-a"), startNode(t, ca, "node-b")}
	var servers []raft.Server
	for _, n := range nodes {
		servers = append(servers, raft.Server{ID: raft.ServerID(n.creds.NodeID), Address: raft.ServerAddress(n.addr)})
	}
	var rafts []*raft.Raft
	for _, n := range nodes {
		conf := raft.DefaultConfig()
		conf.LocalID = raft.ServerID(n.creds.NodeID)
		conf.HeartbeatTimeout = 200 * time.Millisecond
		conf.ElectionTimeout = 200 * time.Millisecond
		conf.LeaderLeaseTimeout = 100 * time.Millisecond
		conf.LogOutput = io.Discard
		trans := raft.NewNetworkTransport(n.l.Raft(), 3, 5*time.Second, io.Discard)
		store := raft.NewInmemStore()
		fsm := &countFSM{}
		r, err := raft.NewRaft(conf, fsm, store, store, raft.NewInmemSnapshotStore(), trans)
		if err != nil {
			t.Fatal(err)
		}
		rafts = append(rafts, r)
		t.Cleanup(func() { r.Shutdown().Error() })
	}
	if err := rafts[0].BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var leader *raft.Raft
		for _, r := range rafts {
			if r.State() == raft.Leader {
				leader = r
			}
		}
		if leader != nil {
			if err := leader.Apply([]byte("x"), 5*time.Second).Error(); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader could commit over the stream layer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The stream layer's Close leaves the port serving RPC.
	nodes[0].l.Raft().Close()
	c := NewClient(nodes[0].addr, nodes[1].creds)
	defer c.Close()
	if err := c.call(ctxT(t), MsgPing, nil, nil); err != nil {
		t.Fatal(err)
	}
}

type countFSM struct {
	mu sync.Mutex
	n  int
}

func (f *countFSM) Apply(*raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return nil
}
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (f *countFSM) Restore(io.ReadCloser) error         { return errors.New("no snapshots") }

func TestInFlightLimit(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	a.srv.MaxInFlight = 2
	started, finished := make(chan struct{}, 4), make(chan struct{}, 4)
	a.srv.handle(msgEcho, func(ctx context.Context, req *Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		finished <- struct{}{}
		return nil, ctx.Err()
	})
	c := NewClient(a.addr, issue(t, ca, "node-b"))
	for range 2 {
		go c.call(context.Background(), msgEcho, nil, nil)
	}
	<-started
	<-started
	if err := c.call(ctxT(t), msgEcho, nil, nil); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("call over the limit: %v", err)
	}
	// The client going away cancels the running handlers.
	c.Close()
	for range 2 {
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			t.Fatal("handlers not cancelled when the client went away")
		}
	}
}

func TestMaxPendingHandshakes(t *testing.T) {
	ca := newTestCA(t)
	creds := issue(t, ca, "node-a")
	logs := &logBuffer{}
	l, err := Listen("127.0.0.1:0", ListenerConfig{Credentials: creds, MaxPending: 1,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := NewServer(nil)
	go srv.Serve(l)
	defer srv.Close()

	// A silent client holds the only handshake slot.
	idle, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for len(l.pending) == 0 { // wait for the listener to pick it up
		time.Sleep(5 * time.Millisecond)
	}
	c := NewClient(l.Addr().String(), issue(t, ca, "node-b"))
	defer c.Close()
	if err := c.call(ctxT(t), MsgPing, nil, nil); err == nil {
		t.Fatal("served beyond MaxPending")
	}
	logs.waitFor(t, "already in handshake")
	idle.Close()
	eventually := time.Now().Add(5 * time.Second)
	for c.call(ctxT(t), MsgPing, nil, nil) != nil {
		if time.Now().After(eventually) {
			t.Fatal("slot never freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPool(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca, "node-a")
	p := NewPool(issue(t, ca, "node-b"))
	defer p.Close()
	if p.Client(a.addr) != p.Client(a.addr) {
		t.Fatal("pool made two clients for one peer")
	}
	if err := p.Client(a.addr).call(ctxT(t), MsgPing, nil, nil); err != nil {
		t.Fatal(err)
	}
}
