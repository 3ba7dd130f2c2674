package remote

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects log output so tests can check refusal reasons without
// writing to t.Log from goroutines that may outlive the test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls until the log contains all of want.
func (b *logBuffer) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := b.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q; log:\n%s", want, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type testNode struct {
	creds  *Credentials
	l      *Listener
	srv    *Server
	log    *logBuffer
	addr   string
	tokens *TokenStore
	ca     *CA
}

func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t testing.TB, ca *CA, id string) *Credentials {
	t.Helper()
	c, err := ca.Issue(id, []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startNode runs a cluster port with an RPC server and a join authority.
func startNode(t testing.TB, ca *CA, id string) *testNode {
	t.Helper()
	n := &testNode{creds: issue(t, ca, id), log: &logBuffer{}, tokens: NewTokenStore(), ca: ca}
	logger := slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l, err := Listen("127.0.0.1:0", ListenerConfig{
		Credentials:      n.creds,
		Join:             &Authority{CA: ca, Tokens: n.tokens, Logger: logger},
		Logger:           logger,
		HandshakeTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.l, n.addr = l, l.Addr().String()
	n.srv = NewServer(logger)
	go n.srv.Serve(l)
	t.Cleanup(func() {
		l.Close()
		n.srv.Close()
	})
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
