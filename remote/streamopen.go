package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dead peers: a node that vanishes without closing its connections (power
// lost, partitioned) is found by TCP keepalive while a stream is idle and
// by TCP_USER_TIMEOUT while written bytes go unacknowledged; either way the
// stream's calls then fail instead of hanging.
var (
	streamKeepAlive   = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}
	streamUserTimeout = 20 * time.Second
)

// tuneStreamConn applies the dead-peer settings to a stream's TCP socket.
func tuneStreamConn(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	tcp.SetKeepAliveConfig(streamKeepAlive)
	if rc, err := tcp.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(streamUserTimeout/time.Millisecond))
		})
	}
}

// OpenStream opens the stream name to the node at addr, presenting creds.
// ctx bounds the connection, the handshake and the peer's acceptance (to
// DefaultHandshakeTimeout if it has no deadline sooner): a node that is
// gone or does not accept fails the open with an error, never hangs it.
func OpenStream(ctx context.Context, addr string, creds *Credentials, name string) (*Stream, error) {
	if err := validStreamName(name); err != nil {
		return nil, fmt.Errorf("open stream to %s: %w", addr, err)
	}
	// WithTimeout keeps ctx's own deadline when it is sooner.
	ctx, cancel := context.WithTimeout(ctx, DefaultHandshakeTimeout)
	defer cancel()
	c, err := dialService(ctx, addr, creds.ClientTLS(addr), ServiceStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	tuneStreamConn(c)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	s := newStream(c, name)
	err = s.handshake()
	if !stop() || err != nil {
		c.Close()
		switch {
		case err == nil:
			err = ctx.Err()
		case ctx.Err() != nil:
			err = ctxErr(ctx, err)
		}
		return nil, fmt.Errorf("open stream %s on %s: %w", name, addr, err)
	}
	c.SetDeadline(time.Time{})
	return s, nil
}

// handshake sends the open frame and waits for the peer's answer.
func (s *Stream) handshake() error {
	if _, err := s.c.Write(appendStreamFrame(nil, streamOpen, []byte(s.name))); err != nil {
		return fmt.Errorf("send open: %w", err)
	}
	var h [streamHeader]byte
	if _, err := io.ReadFull(s.c, h[:]); err != nil {
		return fmt.Errorf("wait for acceptance: %w", err)
	}
	kind, n, err := decodeStreamHeader(h)
	if err != nil {
		return err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(s.c, p); err != nil {
		return fmt.Errorf("wait for acceptance: %w", err)
	}
	switch kind {
	case streamAccepted:
		return nil
	case streamAbort:
		return fmt.Errorf("refused: %w", decodeAbort(s.name, p))
	}
	return fmt.Errorf("%w: %q in answer to open", errStreamFrame, kind)
}

// readOpen reads the open frame of an accepted stream connection.
func readOpen(c net.Conn) (*Stream, error) {
	var h [streamHeader]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, fmt.Errorf("read open: %w", err)
	}
	kind, n, err := decodeStreamHeader(h)
	if err != nil {
		return nil, err
	}
	if kind != streamOpen {
		return nil, fmt.Errorf("%w: %q before open", errStreamFrame, kind)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c, p); err != nil {
		return nil, fmt.Errorf("read open: %w", err)
	}
	if err := validStreamName(string(p)); err != nil {
		return nil, err
	}
	return newStream(c, string(p)), nil
}

// refuseStream answers an open with an abort.
func refuseStream(c net.Conn, reason error) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(appendStreamFrame(nil, streamAbort, encodeAbort(reason)))
}

// ErrNoStreamService refuses streams opened to a node that serves none.
var ErrNoStreamService = errors.New("no stream service here")

// AcceptStream returns the next stream another node opened to this one.
// The opener's OpenStream returns once this has been called for it.
func (l *Listener) AcceptStream() (*Stream, error) {
	select {
	case s := <-l.streams:
		return s, nil
	case <-l.closed:
		return nil, fmt.Errorf("accept stream on %s: %w", l.Addr(), net.ErrClosed)
	}
}

// serveStream reads the open frame of stream connection tc and hands the
// stream to AcceptStream, then tells the opener. It runs within the
// handshake timeout set on tc.
func (l *Listener) serveStream(tc *tls.Conn) error {
	s, err := readOpen(tc)
	if err != nil {
		return err
	}
	// Hold the write side until the acceptance is sent, so that nothing
	// the acceptor writes can precede it.
	s.lockWrite()
	defer s.unlockWrite()
	tc.SetDeadline(time.Time{})
	t := time.NewTimer(l.timeout)
	defer t.Stop()
	select {
	case l.streams <- s:
	case <-l.closed:
		refuseStream(tc, fmt.Errorf("listener closed: %w", syscall.ECONNREFUSED))
		return errors.New("listener closed")
	case <-t.C:
		refuseStream(tc, fmt.Errorf("%w: %w", ErrNoStreamService, syscall.ECONNREFUSED))
		return ErrNoStreamService
	}
	tuneStreamConn(tc)
	tc.SetWriteDeadline(time.Now().Add(l.timeout))
	_, err = tc.Write(appendStreamFrame(nil, streamAccepted, nil))
	tc.SetWriteDeadline(time.Time{})
	if err != nil {
		s.werr = fmt.Errorf("stream %s: send acceptance: %w", s.name, err)
		tc.Close()
	}
	return nil
}

// OpenStream opens the stream name to the node at addr with the pool's
// credentials (see OpenStream).
func (p *Pool) OpenStream(ctx context.Context, addr, name string) (*Stream, error) {
	return OpenStream(ctx, addr, p.creds, name)
}
