package fdproxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Window is how many bytes the origin reads ahead of what the target has
// put into the process's pipe, for a pipe the process reads (PipeRead).
// The target makes that pipe this size (F_SETPIPE_SZ), so the bytes taken
// off the real pipe and not yet read by the process are at most two of
// its pipes' worth. 64 KiB (Linux's default pipe) gave a third of the
// throughput on loopback: the window is a round trip's worth of bytes.
const Window = 256 << 10

// Origin is the origin node's half of a placed process's proxied fds: for
// each one a dup of the real fd and, once Serve gives it its stream, the
// pump that joins the two. Close it once the process is gone.
type Origin struct {
	pid int
	fds map[int]*originFD
}

type originFD struct {
	desc FD
	a    afd

	mu      sync.Mutex
	written uint64 // bytes written into the real fd
	ended   bool
	err     error // why the pump ended, if not at EOF
	changed chan struct{}
	stopped bool
	s       Conn // the stream, once served
}

// NewOrigin takes a dup (pidfd_getfd) of each proxied fd of fds, the
// classification of process pid.
func NewOrigin(pid int, fds []FD) (*Origin, error) {
	o := &Origin{pid: pid, fds: make(map[int]*originFD)}
	c := classifier{pid: pid, pidfd: -1}
	defer c.close()
	for _, d := range fds {
		if !d.Proxied() {
			continue
		}
		fd, err := c.dup(d.Num)
		if err != nil {
			o.Close()
			return nil, err
		}
		stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			unix.Close(fd)
			o.Close()
			return nil, fmt.Errorf("fdproxy: eventfd: %w", err)
		}
		a := afd{fd: fd, kind: d.Kind, stop: stop}
		a.reopen()
		o.fds[d.Num] = &originFD{desc: d, a: a, changed: make(chan struct{})}
	}
	return o, nil
}

// Serve joins proxied fd num to stream s (see StreamName) and returns; the
// pump runs until the fd's bytes are done or the stream ends. Serve takes
// s over: it closes it when the pump is done.
func (o *Origin) Serve(num int, s Conn) error {
	f := o.fds[num]
	if f == nil {
		return fmt.Errorf("fdproxy: fd %d of %d is not proxied", num, o.pid)
	}
	if !claim(&f.mu, &f.s, &f.ended, s) {
		return fmt.Errorf("fdproxy: fd %d of %d already served or closed", num, o.pid)
	}
	switch f.desc.Kind {
	case PipeRead:
		go func() { f.finish(s, f.sendCredited(s)) }()
	case PipeWrite, FileWrite:
		go func() { f.finish(s, f.receive(s, f.desc.packets())) }()
	default:
		go f.both(s)
	}
	return nil
}

// both pumps a socket or terminal in both directions. When the target's
// direction ends (its process closed its end), the other stops too.
func (f *originFD) both(s Conn) {
	in := make(chan error, 1)
	go func() { in <- f.sendRaw(s) }()
	err := f.receive(s, false)
	f.stop()
	if ierr := <-in; err == nil && !errors.Is(ierr, errStopped) {
		err = ierr
	}
	f.finish(s, err)
}

// finish ends fd's proxy: the dup is closed and the stream too (aborted
// with the pump's error, so the target learns an EPIPE).
func (f *originFD) finish(s Conn, err error) {
	if err != nil && !errors.Is(err, errStopped) {
		s.Abort(err)
	} else {
		s.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended, f.err = true, err
	close(f.changed)
	f.a.close()
}

// stop ends the pump's waits on the real fd.
func (f *originFD) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended || f.stopped {
		return
	}
	f.stopped = true
	f.a.halt()
}

// sendCredited pumps the real fd's bytes to the stream, never more than
// Window ahead of the target's acknowledgements.
func (f *originFD) sendCredited(s Conn) error {
	var acked atomic.Uint64
	credit, ackDone := make(chan struct{}, 1), make(chan struct{})
	go func() {
		defer close(ackDone)
		defer f.stop() // the target is gone: stop reading the real pipe
		var b [ackSize]byte
		for {
			if _, err := io.ReadFull(s, b[:]); err != nil {
				return
			}
			acked.Store(binary.BigEndian.Uint64(b[:]))
			select {
			case credit <- struct{}{}:
			default:
			}
		}
	}()
	buf := make([]byte, Window)
	var sent uint64
	for {
		for sent-acked.Load() >= Window {
			select {
			case <-credit:
			case <-ackDone:
				return errStopped
			}
		}
		n, err := f.a.read(buf[:Window-(sent-acked.Load())])
		if err != nil {
			return err
		}
		if n == 0 {
			s.CloseWrite()
			<-ackDone // the target has closed its pipe
			return nil
		}
		if _, err := s.Write(buf[:n]); err != nil {
			return errStopped
		}
		sent += uint64(n)
	}
}

// sendRaw pumps the real fd's bytes to the stream, as fast as it takes them.
func (f *originFD) sendRaw(s Conn) error {
	buf := make([]byte, batch)
	for {
		n, err := f.a.read(buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return s.CloseWrite()
		}
		if _, err := s.Write(buf[:n]); err != nil {
			return errStopped
		}
	}
}

// receive writes what the stream brings into the real fd: whole packets
// of up to pipeBuf bytes per write if packet, else as it comes. It returns
// nil at the stream's end, errStopped if the stream broke, or the real
// fd's write error (EPIPE: the last reader is gone).
func (f *originFD) receive(s Conn, packet bool) error {
	var next func() ([]byte, error)
	if packet {
		next = packetReader(s)
	} else {
		buf := make([]byte, batch)
		next = func() ([]byte, error) {
			n, err := readMore(s, buf)
			return buf[:n], err
		}
	}
	for {
		p, err := next()
		if len(p) > 0 {
			n, werr := f.a.write(p)
			f.mu.Lock()
			f.written += uint64(n)
			close(f.changed)
			f.changed = make(chan struct{})
			f.mu.Unlock()
			if werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return errStopped
		}
	}
}

// packetReader returns a function that reads the next packets off s,
// grouped into one write that keeps each packet whole on the real pipe:
//
//   - a run of full packets (pipeBuf bytes each, what a process's large
//     write becomes), up to maxRun bytes: the length is a multiple of the
//     page, so Linux's pipe_write merges none of it into the pipe's last
//     page and copies it a page, that is a packet, at a time; when the
//     pipe fills, a non-blocking write stops at a page boundary, so other
//     writers can slip in between packets only;
//   - else smaller packets joined while they fit in pipeBuf bytes: one
//     write of at most PIPE_BUF bytes, atomic.
//
// It takes the packets already on their way (their header read) and stops
// when nothing more has arrived, so a lone packet is not held back.
func packetReader(s Conn) func() ([]byte, error) {
	br := bufio.NewReaderSize(s, 2*maxRun)
	out := make([]byte, 0, maxRun)
	return func() ([]byte, error) {
		out = out[:0]
		n, err := packetLen(br)
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = errBadFrame
			}
			return nil, err
		}
		limit := pipeBuf
		if n == pipeBuf {
			limit = maxRun
		}
		for {
			out = out[:len(out)+n]
			if _, err := io.ReadFull(br, out[len(out)-n:]); err != nil {
				if len(out) > n {
					// The whole packets before it still go out; the
					// next call reports the stream's end.
					return out[:len(out)-n], nil
				}
				return nil, errBadFrame
			}
			// Another packet already here (its header), that belongs?
			if br.Buffered() < frameHeader && !arrived(s) {
				return out, nil
			}
			h, err := br.Peek(frameHeader) // here: does not wait long
			if err != nil {
				return out, nil // the next call reports the stream's end
			}
			m := int(binary.BigEndian.Uint16(h))
			if len(out)+m > limit || limit == maxRun && m != pipeBuf {
				return out, nil
			}
			if n, err = packetLen(br); err != nil {
				return nil, errBadFrame
			}
		}
	}
}

// packetLen reads a packet header and checks the length.
func packetLen(br *bufio.Reader) (int, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 || n > pipeBuf {
		return 0, errBadFrame
	}
	return n, nil
}

// WaitWritten waits until the pump of each fd of counts has written that
// many bytes into the real fd: the counts Target.Drain returned once the
// process on the target exited. It fails when ctx ends first, or when a
// pump ended short of its count (its reader gone: the error says why).
func (o *Origin) WaitWritten(ctx context.Context, counts map[int]uint64) error {
	for num, want := range counts {
		f := o.fds[num]
		if f == nil {
			return fmt.Errorf("fdproxy: fd %d of %d is not proxied", num, o.pid)
		}
		for {
			f.mu.Lock()
			got, ended, err, ch := f.written, f.ended, f.err, f.changed
			f.mu.Unlock()
			if got >= want {
				break
			}
			if ended {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("fdproxy: fd %d of %d: %d of %d bytes written: %w", num, o.pid, got, want, err)
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return fmt.Errorf("fdproxy: fd %d of %d: %d of %d bytes written: %w", num, o.pid, got, want, context.Cause(ctx))
			}
		}
	}
	return nil
}

// Close stops the pumps, aborting their streams, and closes the dups.
func (o *Origin) Close() error {
	for _, f := range o.fds {
		f.mu.Lock()
		s := f.s
		if s == nil && !f.ended {
			f.ended, f.err = true, errStopped
			close(f.changed)
			f.a.close()
		}
		f.mu.Unlock()
		if s != nil {
			f.stop()
			s.Abort(errStopped)
		}
	}
	return nil
}
