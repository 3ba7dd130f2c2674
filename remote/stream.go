package remote

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Streams are byte streams between nodes for pipes, terminals and process
// images: service byte 'S' on the node port, one TLS connection per stream
// (see docs/architecture.md for why not multiplexed). On the connection
// each direction is a sequence of stream frames:
//
//	offset size field
//	0      1    kind: 'O' open, 'A' accepted, 'D' data, 'E' end of data, 'X' abort
//	1      4    payload length, big endian (≤ maxStreamData for 'D',
//	            ≤ maxStreamCtl for the others)
//
// The opener sends 'O' with the stream's name and waits for 'A' (or 'X':
// refused). Then each side sends 'D' frames, and 'E' once it will write no
// more (CloseWrite): the other side reads io.EOF while its own direction
// keeps flowing. 'X' carries an errno (4 bytes) and a message and ends the
// stream in both directions. A connection that ends without 'E' or 'X' is
// a peer that vanished: reads fail with ErrStreamBroken.
//
// Flow control is TCP's window, a credit the receiver grants as it reads:
// Read takes bytes off the connection only when the reader asks for them,
// so a reader that does not read stops the writer once the two kernels'
// socket buffers are full, and a Stream buffers nothing itself beyond one
// outgoing frame.
const (
	streamHeader  = 5
	maxStreamData = 32 << 10
	maxStreamCtl  = 4 << 10
	// MaxStreamName bounds a stream's name.
	MaxStreamName = 255

	streamOpen     byte = 'O'
	streamAccepted byte = 'A'
	streamData     byte = 'D'
	streamEnd      byte = 'E'
	streamAbort    byte = 'X'
)

// ServiceStream is the service byte of byte streams.
const ServiceStream byte = 'S'

// Stream errors.
var (
	// ErrStreamBroken is wrapped by the errors of a stream whose peer
	// went away without ending or aborting it.
	ErrStreamBroken = errors.New("stream broken: peer gone")
	// ErrWriteClosed is returned by Write after CloseWrite.
	ErrWriteClosed = errors.New("stream: write after CloseWrite")
	errStreamFrame = errors.New("stream: bad frame")
)

// After Close or Abort the connection lingers, discarding what the peer
// still sends, until the peer closes too or this long has passed: closing
// a socket with unread bytes resets the connection, and the reset can
// destroy the last frames before the peer reads them.
const (
	closeLinger = 5 * time.Second
	abortLinger = time.Second
)

// writeWait is how long Close and Abort wait for a Write in progress
// before they give up on sending their frame and break the connection.
const writeWait = time.Second

// StreamError is the error a peer aborted a stream with. It unwraps to its
// errno, if it had one.
type StreamError struct {
	Name  string
	Msg   string
	Errno syscall.Errno
}

func (e *StreamError) Error() string {
	return fmt.Sprintf("stream %s aborted by peer: %s", e.Name, e.Msg)
}

// Unwrap returns the errno, or nil.
func (e *StreamError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// decodeStreamHeader parses a stream frame header and checks its length.
func decodeStreamHeader(h [streamHeader]byte) (kind byte, n int, err error) {
	kind, n = h[0], int(binary.BigEndian.Uint32(h[1:]))
	limit := maxStreamCtl
	switch kind {
	case streamData:
		limit = maxStreamData
	case streamOpen, streamAccepted, streamEnd, streamAbort:
	default:
		return 0, 0, fmt.Errorf("%w: kind %q", errStreamFrame, kind)
	}
	if n > limit {
		return 0, 0, fmt.Errorf("%w: %c frame of %d bytes, limit %d", errStreamFrame, kind, n, limit)
	}
	return kind, n, nil
}

func appendStreamFrame(dst []byte, kind byte, p []byte) []byte {
	dst = append(dst, kind)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p)))
	return append(dst, p...)
}

func encodeAbort(err error) []byte {
	var errno syscall.Errno
	errors.As(err, &errno)
	msg := err.Error()
	if len(msg) > maxStreamCtl-4 {
		msg = msg[:maxStreamCtl-4]
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(errno)), msg...)
}

func decodeAbort(name string, p []byte) error {
	if len(p) < 4 {
		return fmt.Errorf("%w: abort of %d bytes", errStreamFrame, len(p))
	}
	return &StreamError{Name: name, Errno: syscall.Errno(binary.BigEndian.Uint32(p)), Msg: string(p[4:])}
}

// Stream is one byte stream to another node. It is a net.Conn whose
// CloseWrite delivers io.EOF to the peer while the other direction keeps
// flowing, and whose Abort ends both directions with an error. Read and
// Write may be called concurrently with each other and with Close, Abort
// and CloseWrite. Deadlines work as net.Conn's; a write that times out
// breaks the stream (TLS cannot resume a partial record). To bound a
// stream's life by a context:
//
//	stop := context.AfterFunc(ctx, func() { s.Abort(context.Cause(ctx)) })
//	defer stop()
type Stream struct {
	c    net.Conn
	raw  syscall.RawConn // the TCP socket under c, for TCP_CORK; nil if none
	name string
	peer string

	rmu   sync.Mutex
	rhdr  [streamHeader]byte
	rhn   int   // bytes of rhdr read so far
	rleft int   // payload bytes of the current data frame not yet read
	rerr  error // sticky: io.EOF after 'E', the abort, or the break

	// wlock is the write lock (a channel, so that Close and Abort can stop
	// waiting for a Write blocked on the peer's window).
	wlock   chan struct{}
	wbuf    []byte
	wclosed bool
	werr    error

	// peerErr is the peer's abort once read: Write returns it too.
	peerErr atomic.Pointer[error]

	closeOnce sync.Once
	closed    chan struct{}
}

func newStream(c net.Conn, name string) *Stream {
	s := &Stream{c: c, name: name, peer: PeerID(c), closed: make(chan struct{}), wlock: make(chan struct{}, 1)}
	if tc, ok := c.(*tls.Conn); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			s.raw, _ = tcp.SyscallConn()
		}
	}
	return s
}

func (s *Stream) lockWrite()   { s.wlock <- struct{}{} }
func (s *Stream) unlockWrite() { <-s.wlock }

// lockWriteWithin takes the write lock unless that takes longer than d.
func (s *Stream) lockWriteWithin(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case s.wlock <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// Name is the name the opener gave the stream.
func (s *Stream) Name() string { return s.name }

// Peer is the node id of the other end.
func (s *Stream) Peer() string { return s.peer }

// Read reads stream bytes. It returns io.EOF once the peer has called
// CloseWrite (or Close) and everything before has been read, the peer's
// *StreamError if it aborted, and an error wrapping ErrStreamBroken if
// the peer vanished.
func (s *Stream) Read(p []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if isDone(s.closed) {
		return 0, fmt.Errorf("stream %s: %w", s.name, net.ErrClosed)
	}
	for s.rleft == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		if err := s.readFrame(); err != nil {
			return 0, err
		}
	}
	if len(p) > s.rleft {
		p = p[:s.rleft]
	}
	n, err := s.c.Read(p)
	s.rleft -= n
	if err != nil && n == 0 {
		return 0, s.readErr(err)
	}
	return n, nil
}

// readFrame reads the next frame header and, for a control frame, acts on
// it. A read that times out may stop inside a header and resume later.
func (s *Stream) readFrame() error {
	for s.rhn < streamHeader {
		n, err := s.c.Read(s.rhdr[s.rhn:])
		s.rhn += n
		if err != nil && s.rhn < streamHeader {
			return s.readErr(err)
		}
	}
	s.rhn = 0
	kind, n, err := decodeStreamHeader(s.rhdr)
	if err != nil {
		s.rerr = fmt.Errorf("stream %s: %w", s.name, err)
		s.c.Close()
		return s.rerr
	}
	switch kind {
	case streamData:
		s.rleft = n
		return nil
	case streamEnd:
		s.rerr = io.EOF
		return io.EOF
	case streamAbort:
		p := make([]byte, n)
		if _, err := io.ReadFull(s.c, p); err != nil {
			// Even a timeout: the header is consumed, so there is no
			// resuming inside this frame.
			s.rerr = fmt.Errorf("stream %s: %w (%v)", s.name, ErrStreamBroken, err)
			s.c.Close()
			return s.rerr
		}
		s.rerr = decodeAbort(s.name, p)
		s.peerErr.Store(&s.rerr)
		s.c.Close()
		return s.rerr
	}
	s.rerr = fmt.Errorf("stream %s: %w: unexpected %q", s.name, errStreamFrame, kind)
	s.c.Close()
	return s.rerr
}

// readErr classifies an error of the connection: a timeout is returned
// as is (the stream stays usable); anything else breaks the stream.
func (s *Stream) readErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	if isDone(s.closed) {
		s.rerr = fmt.Errorf("stream %s: %w", s.name, net.ErrClosed)
	} else {
		s.rerr = fmt.Errorf("stream %s: %w (%v)", s.name, ErrStreamBroken, err)
	}
	return s.rerr
}

// Write writes p as data frames. It blocks while the peer's window is
// full: until the peer reads, the deadline passes, or the stream ends.
func (s *Stream) Write(p []byte) (int, error) {
	s.lockWrite()
	defer s.unlockWrite()
	if perr := s.peerErr.Load(); perr != nil {
		return 0, *perr
	}
	if isDone(s.closed) {
		return 0, fmt.Errorf("stream %s: %w", s.name, net.ErrClosed)
	}
	if s.wclosed {
		return 0, ErrWriteClosed
	}
	if len(p) > maxRecord {
		// Several TLS records, one write(2) each: corked, they leave
		// as full segments, and the peer is woken once, not per record.
		s.cork(true)
		defer s.cork(false)
	}
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxStreamData)]
		if err := s.writeFrame(streamData, chunk); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// Arrived reports whether bytes of the stream have reached this node's
// socket and wait to be read: a Read now takes them without waiting for
// the peer (the rest of a record the peer is sending may still be on its
// way). A reader that has just read can use it to take more in one go.
func (s *Stream) Arrived() bool {
	if s.raw == nil {
		return false
	}
	n := 0
	s.raw.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}

// maxRecord is the most plaintext one TLS record carries.
const maxRecord = 16 << 10

// cork sets TCP_CORK on the stream's socket (best effort); uncorking
// sends what is queued at once.
func (s *Stream) cork(on bool) {
	if s.raw == nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	s.raw.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v) })
}

// writeFrame sends one frame; the write lock is held.
func (s *Stream) writeFrame(kind byte, p []byte) error {
	if s.werr != nil {
		return s.werr
	}
	s.wbuf = appendStreamFrame(s.wbuf[:0], kind, p)
	if _, err := s.c.Write(s.wbuf); err != nil {
		switch perr := s.peerErr.Load(); {
		case perr != nil:
			s.werr = *perr
		case isDone(s.closed):
			s.werr = fmt.Errorf("stream %s: %w", s.name, net.ErrClosed)
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
			s.werr = fmt.Errorf("stream %s: %w (%v)", s.name, ErrStreamBroken, err)
		default:
			s.werr = fmt.Errorf("stream %s: %w", s.name, err)
		}
		return s.werr
	}
	return nil
}

// CloseWrite ends this direction: the peer reads io.EOF after the bytes
// already written. Reading goes on.
func (s *Stream) CloseWrite() error {
	s.lockWrite()
	defer s.unlockWrite()
	if s.wclosed {
		return nil
	}
	s.wclosed = true
	return s.writeFrame(streamEnd, nil)
}

// Abort ends the stream in both directions: the peer's reads fail with a
// *StreamError carrying err's text and errno. If a Write has been blocked
// on a full window for a while, the abort cannot be sent in band: the
// connection is broken and the peer sees ErrStreamBroken instead.
func (s *Stream) Abort(err error) error {
	if err == nil {
		err = errors.New("aborted")
	}
	s.finish(streamAbort, encodeAbort(err), abortLinger)
	return nil
}

// Close ends the stream: it ends this direction as CloseWrite does if
// that was not done, stops reading, and releases the connection once the
// peer has had a chance to read what was written.
func (s *Stream) Close() error {
	s.finish(streamEnd, nil, closeLinger)
	return nil
}

// finish sends the last frame (unless this direction has ended), then
// closes the connection after lingering for up to linger.
func (s *Stream) finish(kind byte, p []byte, linger time.Duration) {
	if !s.lockWriteWithin(writeWait) {
		// A Write is stuck on a peer that does not read: closing the
		// connection is what unblocks it.
		s.closeOnce.Do(func() { close(s.closed); s.c.Close() })
		return
	}
	defer s.unlockWrite()
	s.closeOnce.Do(func() {
		if !s.wclosed {
			s.wclosed = true
			s.c.SetWriteDeadline(time.Now().Add(writeWait))
			s.writeFrame(kind, p)
		}
		close(s.closed)
		if tc, ok := s.c.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		s.c.SetReadDeadline(time.Now().Add(linger))
		go func() {
			io.Copy(io.Discard, s.c)
			s.c.Close()
		}()
	})
}

// LocalAddr is the local network address.
func (s *Stream) LocalAddr() net.Addr { return s.c.LocalAddr() }

// RemoteAddr is the peer's network address.
func (s *Stream) RemoteAddr() net.Addr { return s.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (s *Stream) SetDeadline(t time.Time) error { return s.c.SetDeadline(t) }

// SetReadDeadline sets the deadline of Read calls.
func (s *Stream) SetReadDeadline(t time.Time) error { return s.c.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of Write calls.
func (s *Stream) SetWriteDeadline(t time.Time) error { return s.c.SetWriteDeadline(t) }

var _ net.Conn = (*Stream)(nil)

// validStreamName checks a stream name.
func validStreamName(name string) error {
	if name == "" || len(name) > MaxStreamName || !utf8.ValidString(name) {
		return fmt.Errorf("stream name %q: want 1 to %d bytes of UTF-8", name, MaxStreamName)
	}
	return nil
}
