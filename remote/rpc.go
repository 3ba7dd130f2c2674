package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

const (
	// writeTimeout bounds one frame write; a peer that stops reading for
	// this long is treated as gone.
	writeTimeout = 30 * time.Second
	// DefaultMaxInFlight is how many requests one connection may have
	// running on a Server at once.
	DefaultMaxInFlight = 256
)

// Request is a herd RPC request as a handler sees it.
type Request struct {
	Peer    string // node id from the client certificate
	Type    MsgType
	Payload []byte
}

// Decode decodes the request payload into v.
func (r *Request) Decode(v any) error { return DecodePayload(r.Payload, v) }

// Handler serves one message type. It runs in its own goroutine; ctx is
// cancelled when the client cancels the call or the connection closes. The
// returned value is encoded as the response payload (nil: empty, []byte:
// raw, anything else: JSON); a non-nil error is sent to the caller as a
// RemoteError carrying its text.
type Handler func(ctx context.Context, req *Request) (any, error)

// Server dispatches herd RPC requests to handlers by message type. Register
// handlers with Handle before serving.
type Server struct {
	log *slog.Logger
	// MaxInFlight per connection (DefaultMaxInFlight if 0); requests beyond
	// it fail at once with a "busy" error.
	MaxInFlight int

	mu       sync.RWMutex
	handlers map[MsgType]Handler
	conns    map[net.Conn]struct{}
	closed   bool
}

// NewServer returns a Server that answers MsgPing. logger may be nil.
func NewServer(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{log: logger, handlers: map[MsgType]Handler{}, conns: map[net.Conn]struct{}{}}
	Handle(s, Ping, func(context.Context, string, *Empty) (*Empty, error) { return nil, nil })
	return s
}

// handle registers h for message type t, replacing any earlier handler.
func (s *Server) handle(t MsgType, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[t] = h
}

// Serve accepts connections from l (normally a *Listener, whose connections
// are already authenticated) and serves each until it closes. It returns
// the error that stopped Accept.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return fmt.Errorf("serve rpc: %w", err)
		}
		go s.ServeConn(c)
	}
}

// Close closes every connection being served; their handlers' contexts are
// cancelled and their callers see the connection lost. It does not close
// listeners given to Serve.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	for c := range conns {
		c.Close()
	}
	return nil
}

// ServeConn serves requests on c until it closes or sends something that is
// not a valid request frame.
func (s *Server) ServeConn(c net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()

	peer := PeerID(c)
	if peer == "" {
		peer = c.RemoteAddr().String()
	}
	limit := s.MaxInFlight
	if limit <= 0 {
		limit = DefaultMaxInFlight
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc := &serverConn{s: s, c: c, peer: peer, log: s.log.With("peer", peer), ctx: ctx,
		pending: map[uint64]context.CancelFunc{}, sem: make(chan struct{}, limit)}
	defer func() {
		c.Close()
		cancel()
		sc.wg.Wait()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	for {
		f, err := ReadFrame(c, MaxPayload)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				sc.log.Warn("remote: dropping connection", "reason", err.Error())
			}
			return
		}
		if reason := sc.take(f); reason != "" {
			sc.log.Warn("remote: dropping connection", "reason", reason)
			return
		}
	}
}

// serverConn is one connection a Server serves.
type serverConn struct {
	s    *Server
	c    net.Conn
	peer string
	log  *slog.Logger
	ctx  context.Context // cancelled when the connection ends
	wg   sync.WaitGroup  // request goroutines
	wmu  sync.Mutex      // one frame written at a time

	pmu     sync.Mutex
	pending map[uint64]context.CancelFunc // requests in flight, by id
	sem     chan struct{}                 // bounds requests in flight
}

// take acts on one frame from the client: a cancel, or a request to run.
// It returns why the connection must be dropped, or "".
func (sc *serverConn) take(f Frame) string {
	if f.Flags&FlagResponse != 0 {
		return "client sent a response frame"
	}
	sc.pmu.Lock()
	cancel, inFlight := sc.pending[f.ID]
	sc.pmu.Unlock()
	if f.Flags&FlagCancel != 0 {
		if cancel != nil {
			cancel()
		}
		return ""
	}
	if inFlight {
		return fmt.Sprintf("request id %d reused while in flight", f.ID)
	}
	select {
	case sc.sem <- struct{}{}:
	default:
		// Refuse rather than stop reading: a reader blocked here could
		// not notice the peer going away, and the handlers it waits for
		// may be waiting for exactly that.
		sc.wg.Add(1)
		go func() {
			defer sc.wg.Done()
			sc.write(Header{Flags: FlagResponse | FlagError, Type: f.Type, ID: f.ID},
				encodeError(fmt.Errorf("busy: %d requests in flight on this connection", cap(sc.sem))))
		}()
		return ""
	}
	rctx, rcancel := context.WithCancel(sc.ctx)
	sc.pmu.Lock()
	sc.pending[f.ID] = rcancel
	sc.pmu.Unlock()
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		sc.run(rctx, rcancel, f)
	}()
	return ""
}

// run serves one request and sends its response, unless the caller has
// cancelled it.
func (sc *serverConn) run(ctx context.Context, cancel context.CancelFunc, f Frame) {
	resp, herr := sc.s.dispatch(ctx, sc.log, &Request{Peer: sc.peer, Type: f.Type, Payload: f.Payload})
	sc.pmu.Lock()
	delete(sc.pending, f.ID)
	sc.pmu.Unlock()
	cancelled := ctx.Err() != nil
	cancel()
	<-sc.sem
	if cancelled {
		return // the caller has gone; nobody reads this response
	}
	h := Header{Flags: FlagResponse, Type: f.Type, ID: f.ID}
	var payload []byte
	if herr == nil {
		payload, herr = encodePayload(resp)
		if herr == nil && len(payload) > MaxPayload {
			herr = fmt.Errorf("%w: response of %d bytes", ErrFrameTooLong, len(payload))
		}
	}
	if herr != nil {
		h.Flags |= FlagError
		payload = encodeError(herr)
	}
	sc.write(h, payload)
}

func (sc *serverConn) write(h Header, p []byte) {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	sc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := WriteFrame(sc.c, h, p); err != nil {
		sc.log.Warn("remote: write response", "type", h.Type, "err", err)
		sc.c.Close()
	}
}

func (s *Server) dispatch(ctx context.Context, log *slog.Logger, req *Request) (resp any, err error) {
	s.mu.RLock()
	h := s.handlers[req.Type]
	s.mu.RUnlock()
	if h == nil {
		return nil, fmt.Errorf("no handler for %v", req.Type)
	}
	defer func() {
		if r := recover(); r != nil {
			log.Error("remote: handler panicked", "type", req.Type, "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, fmt.Errorf("internal error serving %v", req.Type)
		}
	}()
	return h(ctx, req)
}

// Client calls one peer. Calls are multiplexed over a single connection,
// dialled on first use and redialled after it is lost; a Client is safe for
// concurrent use.
type Client struct {
	addr string
	dial func(ctx context.Context) (net.Conn, error)

	mu         sync.Mutex
	cc         *clientConn
	connecting chan struct{} // closed when the dial in progress ends
	dialErr    error
	closed     bool
}

// NewClient returns a client for the node at addr, authenticating with creds.
func NewClient(addr string, creds *Credentials) *Client {
	return &Client{addr: addr, dial: func(ctx context.Context) (net.Conn, error) {
		return Dial(ctx, addr, creds, ServiceRPC)
	}}
}

// Addr is the peer's address.
func (c *Client) Addr() string { return c.addr }

// ErrClientClosed is returned by calls on a closed Client.
var ErrClientClosed = errors.New("client closed")

// Close closes the connection; pending calls fail.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	cc := c.cc
	c.cc = nil
	c.mu.Unlock()
	if cc != nil {
		cc.fail(ErrClientClosed)
	}
	return nil
}

// conn returns the live connection, dialling if needed. Concurrent callers
// share one dial; each waits only as long as its own ctx allows.
func (c *Client) conn(ctx context.Context) (*clientConn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClientClosed
		}
		if c.cc != nil && !isDone(c.cc.done) {
			cc := c.cc
			c.mu.Unlock()
			return cc, nil
		}
		if c.connecting == nil {
			ch := make(chan struct{})
			c.connecting = ch
			c.mu.Unlock()
			nc, err := c.dial(ctx)
			c.mu.Lock()
			c.connecting = nil
			c.dialErr = err
			if err == nil {
				c.cc = newClientConn(nc, c.addr)
				if c.closed {
					c.cc.fail(ErrClientClosed)
				}
			}
			close(ch)
			c.mu.Unlock()
			if err != nil {
				return nil, err
			}
			continue
		}
		ch := c.connecting
		c.mu.Unlock()
		select {
		case <-ch:
			c.mu.Lock()
			err := c.dialErr
			c.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				// Someone else's dial failed: try our own (it may have
				// failed for their context's reasons).
				continue
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Client) call(ctx context.Context, t MsgType, req, resp any) error {
	payload, err := encodePayload(req)
	if err != nil {
		return fmt.Errorf("call %v to %s: encode request: %w", t, c.addr, err)
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("call %v to %s: %w: request of %d bytes", t, c.addr, ErrFrameTooLong, len(payload))
	}
	cc, err := c.conn(ctx)
	if err != nil {
		return fmt.Errorf("call %v to %s: connect: %w", t, c.addr, err)
	}
	f, err := cc.roundTrip(ctx, t, payload)
	if err != nil {
		return fmt.Errorf("call %v to %s: %w", t, cc.peerName(), err)
	}
	if f.Flags&FlagError != 0 {
		return decodeError(cc.peerName(), t, f.Payload)
	}
	if err := DecodePayload(f.Payload, resp); err != nil {
		return fmt.Errorf("call %v to %s: %w", t, cc.peerName(), err)
	}
	return nil
}

type clientConn struct {
	c    net.Conn
	addr string
	peer string
	wmu  sync.Mutex

	mu      sync.Mutex
	pending map[uint64]chan Frame
	nextID  uint64
	err     error
	done    chan struct{}
}

func newClientConn(c net.Conn, addr string) *clientConn {
	cc := &clientConn{c: c, addr: addr, peer: PeerID(c), pending: map[uint64]chan Frame{}, done: make(chan struct{})}
	go cc.readLoop()
	return cc
}

// peerName is "node-id (addr)", or addr if the peer's id is unknown.
func (cc *clientConn) peerName() string {
	if cc.peer == "" {
		return cc.addr
	}
	return fmt.Sprintf("%s (%s)", cc.peer, cc.addr)
}

// isDone reports, without blocking, whether ch is closed.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (cc *clientConn) fail(err error) {
	cc.mu.Lock()
	if cc.err == nil {
		cc.err = err
		close(cc.done)
	}
	cc.mu.Unlock()
	cc.c.Close()
}

func (cc *clientConn) readLoop() {
	for {
		f, err := ReadFrame(cc.c, MaxPayload)
		if err != nil {
			cc.fail(err)
			return
		}
		if f.Flags&FlagResponse == 0 {
			cc.fail(fmt.Errorf("protocol error: server sent a non-response %v frame", f.Type))
			return
		}
		cc.mu.Lock()
		ch := cc.pending[f.ID]
		delete(cc.pending, f.ID)
		cc.mu.Unlock()
		if ch != nil {
			ch <- f // buffered; a late response to a cancelled call is dropped above
		}
	}
}

func (cc *clientConn) roundTrip(ctx context.Context, t MsgType, payload []byte) (Frame, error) {
	ch := make(chan Frame, 1)
	cc.mu.Lock()
	if cc.err != nil {
		err := cc.err
		cc.mu.Unlock()
		return Frame{}, fmt.Errorf("connection lost: %w", err)
	}
	cc.nextID++
	id := cc.nextID
	cc.pending[id] = ch
	cc.mu.Unlock()

	if err := cc.write(Header{Type: t, ID: id}, payload); err != nil {
		cc.fail(err)
		return Frame{}, fmt.Errorf("send request: connection lost: %w", err)
	}
	select {
	case f := <-ch:
		return f, nil
	case <-cc.done:
		select {
		case f := <-ch:
			return f, nil
		default:
		}
		return Frame{}, fmt.Errorf("connection lost while waiting for the response: %w", cc.err)
	case <-ctx.Done():
		cc.mu.Lock()
		delete(cc.pending, id)
		cc.mu.Unlock()
		go cc.write(Header{Flags: FlagCancel, Type: t, ID: id}, nil)
		return Frame{}, ctx.Err()
	}
}

func (cc *clientConn) write(h Header, p []byte) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return WriteFrame(cc.c, h, p)
}

// Pool holds one Client per peer address.
type Pool struct {
	creds   *Credentials
	mu      sync.Mutex
	clients map[string]*Client
}

// NewPool returns an empty pool whose clients authenticate with creds.
func NewPool(creds *Credentials) *Pool {
	return &Pool{creds: creds, clients: map[string]*Client{}}
}

// Client returns the client for addr, creating it on first use.
func (p *Pool) Client(addr string) *Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.clients[addr]
	if c == nil {
		c = NewClient(addr, p.creds)
		p.clients[addr] = c
	}
	return c
}

// Close closes every client.
func (p *Pool) Close() error {
	p.mu.Lock()
	clients := p.clients
	p.clients = map[string]*Client{}
	p.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
	return nil
}
