package fdproxy

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Conn is the stream one proxied fd crosses on: a *remote.Stream.
type Conn interface {
	io.Reader
	io.Writer
	// CloseWrite ends this direction: the peer reads io.EOF.
	CloseWrite() error
	// Close ends the stream.
	Close() error
	// Abort ends both directions; the peer's calls fail with err's errno.
	Abort(err error) error
}

// readMore reads into p what the stream brings, waiting for the first
// bytes only: while p has room and more has already arrived (the stream
// says so, if it can), it goes on reading. A TLS record carries 16 KiB, so
// one pipe write then moves several records, and wakes the reader once.
func readMore(s Conn, p []byte) (int, error) {
	n, err := s.Read(p)
	for err == nil && n < len(p) && arrived(s) {
		var m int
		m, err = s.Read(p[n:])
		n += m
	}
	return n, err
}

// arrived says whether more of s has reached this node, if s can tell.
func arrived(s Conn) bool {
	a, ok := s.(interface{ Arrived() bool })
	return ok && a.Arrived()
}

// StreamName is the name of the stream of fd num of the placement id (any
// string the two nodes agree on, e.g. the PID and a counter): "fd/<id>/<num>".
func StreamName(id string, num int) string { return "fd/" + id + "/" + strconv.Itoa(num) }

// ParseStreamName splits a StreamName.
func ParseStreamName(name string) (id string, num int, ok bool) {
	rest, ok := strings.CutPrefix(name, "fd/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 {
		return "", 0, false
	}
	num, err := strconv.Atoi(rest[i+1:])
	if err != nil || num < 0 {
		return "", 0, false
	}
	return rest[:i], num, true
}

// On the stream of a pipe write end (PipeWrite), target → origin, each
// write the process made of up to pipeBuf bytes is one packet, sent as a
// frame: 2 bytes of length (big endian), then the bytes. The origin writes
// whole packets, so that POSIX's atomic writes stay atomic on the real
// pipe. On the other kinds the stream carries the bytes as they are.
//
// On the stream of a pipe read end (PipeRead), target → origin carries the
// acknowledgements that give the origin credit: 8 bytes, big endian, the
// count of bytes the target has put into the process's pipe so far.
const (
	// pipeBuf is Linux's PIPE_BUF (limits.h; neither x/sys/unix nor
	// gvisor's abi names it), also the page a packet-mode pipe reads whole.
	pipeBuf     = 4096
	frameHeader = 2
	ackSize     = 8
	// ackEvery is how many bytes the target puts into the process's
	// pipe between acknowledgements. The origin stops only when Window
	// bytes are unacknowledged, so any ackEvery up to Window keeps the
	// stream moving; a quarter keeps three quarters of it in flight.
	ackEvery = Window / 4
	// batch is what a pump moves per stream write.
	batch = 64 << 10
	// maxRun bounds one write of full packets into the real pipe.
	maxRun = 64 << 10
)

var errBadFrame = errors.New("fdproxy: bad packet frame")

// plainPipes turns packet mode off (a benchmark measures its cost).
var plainPipes = false

// packets says whether the fd's stream carries packets.
func (d FD) packets() bool { return d.Kind == PipeWrite && !plainPipes }

// claim gives an fd's proxy its stream, *dst = s under mu, unless it has
// one or *over (both guarded by mu).
func claim(mu *sync.Mutex, dst *Conn, over *bool, s Conn) bool {
	mu.Lock()
	defer mu.Unlock()
	if *dst != nil || *over {
		return false
	}
	*dst = s
	return true
}
