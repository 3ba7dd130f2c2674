package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Service bytes: the first byte a client writes after the TLS handshake.
const (
	ServiceRaft byte = 'R' // Raft transport; client certificate required
	ServiceRPC  byte = 'H' // herd RPC; client certificate required
	ServiceJoin byte = 'J' // one join exchange; no client certificate needed
	// ServiceStream ('S', stream.go) carries one byte stream; client
	// certificate required.
)

// DefaultHandshakeTimeout bounds the TLS handshake plus the service byte, so
// a client that connects and says nothing holds a goroutine only this long.
const DefaultHandshakeTimeout = 10 * time.Second

// ListenerConfig configures a Listener.
type ListenerConfig struct {
	// Credentials are this node's certificate and the cluster CA. Required.
	Credentials *Credentials
	// Join serves 'J' connections. If nil, join connections are refused.
	Join JoinHandler
	// Logger receives refused connections and their reasons. Default
	// slog.Default().
	Logger *slog.Logger
	// HandshakeTimeout defaults to DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxPending bounds connections still in the handshake or join exchange
	// (DefaultMaxPending if 0); beyond it new connections are refused at
	// once, so unauthenticated clients cannot pile up goroutines.
	MaxPending int
}

// DefaultMaxPending is the default ListenerConfig.MaxPending.
const DefaultMaxPending = 256

// Listener is a node's cluster port. It accepts TCP connections, completes
// the TLS handshake and reads the service byte off the accept loop, then
// hands the connection to the service: Accept returns herd RPC ('H')
// connections, Raft() the Raft ones, and join connections are served by the
// configured JoinHandler. A connection that fails any check is closed and
// logged; the listener carries on.
type Listener struct {
	inner   net.Listener
	tlsConf *tls.Config
	creds   *Credentials
	join    JoinHandler
	log     *slog.Logger
	timeout time.Duration

	rpc     chan net.Conn
	streams chan *Stream
	raft    *StreamLayer
	pending chan struct{}

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
}

// Listen listens on the TCP address addr ("host:port").
func Listen(addr string, cfg ListenerConfig) (*Listener, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("listen: no credentials")
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return NewListener(inner, cfg), nil
}

// NewListener serves the cluster port on inner, which it takes over (Close
// closes it). cfg.Credentials must be set.
func NewListener(inner net.Listener, cfg ListenerConfig) *Listener {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	l := &Listener{
		inner:   inner,
		tlsConf: cfg.Credentials.ServerTLS(),
		creds:   cfg.Credentials,
		join:    cfg.Join,
		log:     cfg.Logger.With("listener", inner.Addr().String()),
		timeout: cfg.HandshakeTimeout,
		rpc:     make(chan net.Conn),
		streams: make(chan *Stream),
		pending: make(chan struct{}, cfg.MaxPending),
		closed:  make(chan struct{}),
	}
	l.raft = &StreamLayer{l: l, conns: make(chan net.Conn), closed: make(chan struct{})}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// Accept returns the next herd RPC connection: a *tls.Conn whose peer
// presented a certificate of the cluster CA, positioned after the service
// byte.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.rpc:
		return c, nil
	case <-l.closed:
		return nil, fmt.Errorf("accept on %s: %w", l.Addr(), net.ErrClosed)
	}
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Close stops listening. Connections already handed out stay open.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closed)
		err = l.inner.Close()
		l.wg.Wait()
	})
	return err
}

// Raft is the stream layer for raft.NewNetworkTransport on this port.
func (l *Listener) Raft() *StreamLayer { return l.raft }

// Credentials are the node credentials the listener presents.
func (l *Listener) Credentials() *Credentials { return l.creds }

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of fds and the like: wait a little, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("remote: accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.closed:
				return
			}
			continue
		}
		backoff = 0
		select {
		case l.pending <- struct{}{}:
		default:
			l.refuse(c, 0, fmt.Errorf("%d connections already in handshake", cap(l.pending)))
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.handle(c)
		}()
	}
}

// refuse closes c and logs why.
func (l *Listener) refuse(c net.Conn, service byte, reason error) {
	attrs := []any{"remote", c.RemoteAddr().String(), "reason", reason.Error()}
	if service != 0 {
		attrs = append(attrs, "service", fmt.Sprintf("%q", service))
	}
	l.log.Warn("remote: refused connection", attrs...)
	c.Close()
}

func (l *Listener) handle(raw net.Conn) {
	tc := tls.Server(raw, l.tlsConf)
	deadline := time.Now().Add(l.timeout)
	tc.SetDeadline(deadline)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	release := l.guard(ctx, tc)
	defer release()

	if err := tc.HandshakeContext(ctx); err != nil {
		l.refuse(tc, 0, fmt.Errorf("tls handshake: %w", err))
		return
	}
	var sel [1]byte
	if _, err := io.ReadFull(tc, sel[:]); err != nil {
		l.refuse(tc, 0, fmt.Errorf("read service byte: %w", err))
		return
	}
	if err := l.dispatch(ctx, tc, sel[0], release); err != nil {
		l.refuse(tc, sel[0], err)
	}
}

// guard holds a pending slot for tc while it is in the handshake or the
// join exchange, and unblocks those when the listener closes. It returns
// the release that frees the slot when tc is handed to a service, after
// which tc is never touched.
func (l *Listener) guard(ctx context.Context, tc *tls.Conn) (release func()) {
	var mu sync.Mutex
	handedOff := false
	go func() {
		select {
		case <-l.closed:
			mu.Lock()
			if !handedOff {
				tc.SetDeadline(time.Now())
			}
			mu.Unlock()
		case <-ctx.Done():
		}
	}()
	return func() {
		mu.Lock()
		if !handedOff {
			handedOff = true
			<-l.pending
		}
		mu.Unlock()
	}
}

// dispatch serves tc by its service byte, or says why it refuses it.
func (l *Listener) dispatch(ctx context.Context, tc *tls.Conn, service byte, release func()) error {
	hasCert := len(tc.ConnectionState().VerifiedChains) > 0
	switch service {
	case ServiceRaft, ServiceRPC, ServiceStream:
		if !hasCert {
			return errors.New("no client certificate")
		}
		release()
		if service == ServiceStream {
			return l.serveStream(tc)
		}
		return l.handOff(tc, service)
	case ServiceJoin:
		if l.join == nil {
			return errors.New("this node does not admit nodes")
		}
		if err := serveJoin(ctx, tc, l.join); err != nil {
			return err
		}
		tc.Close()
		return nil
	}
	return errors.New("unknown service byte")
}

// handOff gives an authenticated Raft or RPC connection to its service.
// Nobody accepting (service not started yet, or shut down): it gives up
// after the handshake timeout rather than pile up goroutines.
func (l *Listener) handOff(tc *tls.Conn, service byte) error {
	tc.SetDeadline(time.Time{})
	ch, closed := l.rpc, l.closed
	if service == ServiceRaft {
		ch, closed = l.raft.conns, l.raft.closed
	}
	t := time.NewTimer(l.timeout)
	defer t.Stop()
	select {
	case ch <- tc:
		return nil
	case <-closed:
		return errors.New("service closed")
	case <-l.closed:
		return errors.New("listener closed")
	case <-t.C:
		return errors.New("service not accepting connections")
	}
}

// Dial connects to the cluster port at addr for service (ServiceRaft or
// ServiceRPC), presenting creds and verifying the peer against the cluster
// CA and addr's host.
func Dial(ctx context.Context, addr string, creds *Credentials, service byte) (*tls.Conn, error) {
	if service != ServiceRaft && service != ServiceRPC && service != ServiceStream {
		return nil, fmt.Errorf("dial %s: service %q needs no certificate; use Join", addr, service)
	}
	return dialService(ctx, addr, creds.ClientTLS(addr), service)
}

func dialService(ctx context.Context, addr string, conf *tls.Config, service byte) (*tls.Conn, error) {
	d := tls.Dialer{Config: conf}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	tc := c.(*tls.Conn)
	if dl, ok := ctx.Deadline(); ok {
		tc.SetWriteDeadline(dl)
	}
	if _, err := tc.Write([]byte{service}); err != nil {
		tc.Close()
		return nil, fmt.Errorf("dial %s: send service byte: %w", addr, err)
	}
	tc.SetWriteDeadline(time.Time{})
	return tc, nil
}

// PeerID is the node id (certificate common name) of the verified peer of a
// connection from Listener.Accept or Dial, or "" if there is none.
func PeerID(c net.Conn) string {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return ""
	}
	return st.VerifiedChains[0][0].Subject.CommonName
}
