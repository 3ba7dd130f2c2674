package fdproxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Target is the target node's half of a placed process's fds: the fd the
// process gets at each number (Ends), and for each proxied one the pump
// that joins the other end to the stream Serve gives it.
type Target struct {
	ends []End
	fds  map[int]*targetFD
}

// End is an fd the process must get at number Num. It is close-on-exec
// in this process; whoever starts the process dup2s it into place (which
// clears the flag there), then calls CloseEnds: while this process holds
// an End of a pipe the process writes, its reader never sees EOF.
type End struct {
	Num int
	Fd  int
}

type targetFD struct {
	desc   FD
	f      *os.File // the pump's end, non-blocking, in the runtime's poller
	raw    int      // f's fd number, for FIONREAD
	packet bool

	mu      sync.Mutex
	s       Conn
	sent    uint64 // bytes the process wrote that the stream has taken
	idle    bool   // the outbound pump waits for the process, nothing unsent
	done    bool   // the outbound pump has ended
	closed  bool   // f is closed
	changed chan struct{}
}

// NewTarget makes the fds for descriptions fds (from Classify on the
// origin): reopened files and devices, and for each proxied fd a pipe
// (socketpair for sockets and terminals) whose other end its pump keeps.
func NewTarget(fds []FD) (*Target, error) {
	t := &Target{fds: make(map[int]*targetFD)}
	for _, d := range fds {
		var err error
		if d.Proxied() {
			err = t.proxy(d)
		} else {
			err = t.reopen(d)
		}
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("fdproxy: fd %d (%s %s): %w", d.Num, d.Kind, d.Path, err)
		}
	}
	return t, nil
}

// reopen opens a file, directory or device by path, with its flags and
// offset.
func (t *Target) reopen(d FD) error {
	flags := d.Flags&keptFlags | unix.O_CLOEXEC | unix.O_NOCTTY
	switch d.Kind {
	case Dir:
		flags |= unix.O_DIRECTORY
	case File, Device:
	default:
		return fmt.Errorf("kind %q unknown", d.Kind)
	}
	fd, err := unix.Open(d.Path, flags, 0)
	if err != nil {
		return err
	}
	t.ends = append(t.ends, End{Num: d.Num, Fd: fd})
	if d.Offset != 0 {
		if _, err := unix.Seek(fd, d.Offset, unix.SEEK_SET); err != nil {
			return err
		}
	}
	return nil
}

// proxy makes the process's end and the pump's end of a proxied fd.
func (t *Target) proxy(d FD) error {
	var p [2]int
	var err error
	proc, pump := 0, 1
	switch d.Kind {
	case PipeRead:
		if err = unix.Pipe2(p[:], unix.O_CLOEXEC); err == nil {
			// As large as the origin's read-ahead (best effort).
			unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, Window)
		}
	case PipeWrite, FileWrite:
		flags := unix.O_CLOEXEC
		if d.packets() {
			// Packet mode: each write of the process is read whole.
			flags |= unix.O_DIRECT
		}
		if err = unix.Pipe2(p[:], flags); err == nil {
			// Room for many packets (a packet takes a page however
			// small), so that a process writing fast is not woken
			// for every packet the pump takes (best effort).
			unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, Window)
		}
		proc, pump = 1, 0
	case Socket, TTY:
		p, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	default:
		return fmt.Errorf("kind %q unknown", d.Kind)
	}
	if err != nil {
		return err
	}
	t.ends = append(t.ends, End{Num: d.Num, Fd: p[proc]})
	if d.Flags&unix.O_NONBLOCK != 0 {
		if err := unix.SetNonblock(p[proc], true); err != nil {
			unix.Close(p[pump])
			return err
		}
	}
	if err := unix.SetNonblock(p[pump], true); err != nil {
		unix.Close(p[pump])
		return err
	}
	t.fds[d.Num] = &targetFD{desc: d, f: os.NewFile(uintptr(p[pump]), fmt.Sprintf("fdproxy-%d", d.Num)),
		raw: p[pump], packet: d.packets(), changed: make(chan struct{})}
	return nil
}

// Ends are the fds the process gets, at their numbers.
func (t *Target) Ends() []End { return t.ends }

// CloseEnds closes this process's copies of the Ends, once the process
// has its own.
func (t *Target) CloseEnds() {
	for _, e := range t.ends {
		unix.Close(e.Fd)
	}
	t.ends = nil
}

// Serve joins proxied fd num to stream s and returns; the pumps run until
// the fd's bytes are done or the stream ends. Serve takes s over.
func (t *Target) Serve(num int, s Conn) error {
	f := t.fds[num]
	if f == nil {
		return fmt.Errorf("fdproxy: fd %d is not proxied", num)
	}
	if !claim(&f.mu, &f.s, &f.closed, s) {
		return fmt.Errorf("fdproxy: fd %d already served or closed", num)
	}
	switch f.desc.Kind {
	case PipeRead:
		go func() { f.end(f.feed(s, true)) }()
	case PipeWrite, FileWrite:
		go func() {
			// The origin sends nothing: its end, or the stream's
			// break, means the reader is gone (EPIPE for the process).
			io.Copy(io.Discard, s)
			f.closeFile()
		}()
		go func() { f.end(f.send(s)) }()
	default:
		go f.both(s)
	}
	return nil
}

// both pumps a socket or terminal in both directions.
func (f *targetFD) both(s Conn) {
	in := make(chan error, 1)
	go func() { in <- f.feed(s, false) }()
	err := f.send(s)
	if err != nil {
		f.shutdown(unix.SHUT_RD) // the process's writes fail: EPIPE
	}
	if ierr := <-in; err == nil {
		err = ierr
	}
	f.end(err)
}

// end closes the stream and the pump's end once the pumps are done.
func (f *targetFD) end(err error) {
	if err != nil {
		f.s.Abort(err)
	} else {
		f.s.Close()
	}
	f.closeFile()
}

func (f *targetFD) closeFile() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.notifyLocked()
	f.mu.Unlock()
	f.f.Close()
}

func (f *targetFD) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *targetFD) shutdown(how int) {
	if rc, err := f.f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), how) })
	}
}

// feed writes what the stream brings into the process's pipe (or
// socket), acknowledging each write if ack. At the stream's end the
// process reads EOF: the pipe's write end is closed (the socket's shut
// down for writing). A process that closed its end ends the feed.
func (f *targetFD) feed(s Conn, ack bool) error {
	buf := make([]byte, batch)
	var put, acked uint64
	var a [ackSize]byte
	for {
		n, err := readMore(s, buf)
		if n > 0 {
			if _, werr := f.f.Write(buf[:n]); werr != nil {
				return nil // the process's end is closed
			}
			put += uint64(n)
			// One acknowledgement per ackEvery bytes, not per read:
			// each costs a TLS record and a wakeup on the origin.
			if ack && put-acked >= ackEvery {
				binary.BigEndian.PutUint64(a[:], put)
				if _, err := s.Write(a[:]); err != nil {
					return nil
				}
				acked = put
			}
		}
		if err != nil {
			if f.desc.Kind == PipeRead {
				f.closeFile()
			} else {
				f.shutdown(unix.SHUT_WR)
			}
			return nil
		}
	}
}

// send pumps what the process writes to the stream: at its pipe's EOF
// (every writer on this node closed) it ends the stream's direction. If
// the stream fails, the pipe's read end is closed (the process's writes
// fail with EPIPE).
func (f *targetFD) send(s Conn) error {
	rc, err := f.f.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, batch+batch/pipeBuf*frameHeader)
	for {
		var n, payload int
		var eof bool
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			n, payload, eof, rerr = f.fill(int(fd), buf)
			f.idle = n == 0 && !eof && rerr == nil
			if f.idle {
				f.notifyLocked()
			}
			return !f.idle
		})
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				f.closeFile()
				return werr
			}
			f.mu.Lock()
			f.sent += uint64(payload)
			f.notifyLocked()
			f.mu.Unlock()
		}
		switch {
		case err != nil:
			return nil // closed: the origin is gone
		case rerr != nil:
			return rerr
		case eof:
			f.mu.Lock()
			f.done = true
			f.notifyLocked()
			f.mu.Unlock()
			return s.CloseWrite()
		}
	}
}

// fill reads what the process has written into buf without waiting: n
// bytes to send, payload of them the process's (the rest are packet
// headers). f.mu is held.
func (f *targetFD) fill(fd int, buf []byte) (n, payload int, eof bool, err error) {
	for {
		var m int
		var e error
		if f.packet {
			if len(buf)-n < frameHeader+pipeBuf {
				return n, payload, false, nil
			}
			// A read of a packet-mode pipe returns one packet, whole if
			// the buffer holds pipeBuf bytes.
			m, e = unix.Read(fd, buf[n+frameHeader:n+frameHeader+pipeBuf])
			if m > 0 {
				binary.BigEndian.PutUint16(buf[n:], uint16(m))
				n += frameHeader + m
			}
		} else {
			if n == len(buf) {
				return n, payload, false, nil
			}
			m, e = unix.Read(fd, buf[n:])
			n += max(m, 0)
		}
		payload += max(m, 0)
		switch {
		case e == unix.EINTR:
		case e == unix.EAGAIN:
			return n, payload, false, nil
		case e != nil:
			return n, payload, false, e
		case m == 0:
			return n, payload, true, nil
		}
	}
}

// Drain waits, after the process exited, until everything it wrote to
// each outbound fd (pipe and file write ends, sockets, terminals) has
// been sent: its pipe is at EOF (no writer left on this node), or empty
// with the pump waiting. It returns, per fd, the bytes sent, for
// Origin.WaitWritten on the origin. A process's child still writing
// after it exited may add bytes later: they are not counted.
func (t *Target) Drain(ctx context.Context) (map[int]uint64, error) {
	counts := make(map[int]uint64)
	for num, f := range t.fds {
		if !f.desc.outbound() {
			continue
		}
		n, err := f.drained(ctx)
		if err != nil {
			return nil, fmt.Errorf("fdproxy: drain fd %d: %d bytes sent: %w", num, n, err)
		}
		counts[num] = n
	}
	return counts, nil
}

func (f *targetFD) drained(ctx context.Context) (uint64, error) {
	for {
		f.mu.Lock()
		quiet := f.done || f.closed
		if !quiet && f.idle {
			// FIONREAD, which x/sys/unix names SIOCINQ (0x541b).
			n, err := unix.IoctlGetInt(f.raw, unix.SIOCINQ)
			quiet = err == nil && n == 0
		}
		sent, ch := f.sent, f.changed
		f.mu.Unlock()
		if quiet {
			return sent, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return sent, context.Cause(ctx)
		}
	}
}

// Close stops the pumps, aborting their streams, and closes every fd.
func (t *Target) Close() error {
	t.CloseEnds()
	for _, f := range t.fds {
		f.mu.Lock()
		s := f.s
		f.mu.Unlock()
		if s != nil {
			s.Abort(errStopped)
		}
		f.closeFile()
	}
	return nil
}
