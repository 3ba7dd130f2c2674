package fdproxy

import (
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// afd is the origin's dup of a process's fd. It shares the open file
// description (flags included) with the process's kin, so it stays in
// blocking mode: reads and writes are made without waiting (RWF_NOWAIT
// for pipes, MSG_DONTWAIT for sockets) and waited for with poll, which
// also watches stop, an eventfd that ends the wait when the proxy is torn
// down. Terminals and regular files do not support RWF_NOWAIT: a read of a
// terminal waits in poll, then reads (and may block if a reader on the
// origin took the bytes first); a write to either is a plain write.
//
// For a pipe or FIFO there is a better way, taken when it works (reopen):
// a second open file description of the same pipe, opened through
// /proc/self/fd, is ours alone, so it can be non-blocking and wait in the
// runtime's poller like any socket. That spares a blocked thread per wait
// (and the runtime's monitor polling at full rate while threads block).
// It counts as a reader or writer of the pipe as the dup does; both are
// closed together.
type afd struct {
	fd   int
	kind Kind
	stop int
	nb   *os.File // the non-blocking description, if reopen made one
	rc   syscall.RawConn
}

var errStopped = errors.New("fdproxy: proxy stopped")

// reopen opens the non-blocking description of a pipe's end (best
// effort). Not for a packet-mode end: O_DIRECT is the description's, and
// a pipe's cannot be opened with it.
func (a *afd) reopen() {
	mode := unix.O_RDONLY
	switch a.kind {
	case PipeRead:
	case PipeWrite:
		mode = unix.O_WRONLY
	default:
		return
	}
	if fl, err := unix.FcntlInt(uintptr(a.fd), unix.F_GETFL, 0); err != nil || fl&unix.O_DIRECT != 0 {
		return
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(a.fd), mode|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return // e.g. ENXIO: a pipe without readers cannot be opened for writing
	}
	nb := os.NewFile(uintptr(fd), "fdproxy")
	rc, err := nb.SyscallConn()
	if err != nil {
		nb.Close()
		return
	}
	a.nb, a.rc = nb, rc
}

// halt ends the pump's waits on the fd: the calls waiting and any later
// one fail with errStopped.
func (a *afd) halt() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(a.stop, one[:])
	if a.nb != nil {
		a.nb.SetDeadline(time.Unix(1, 0))
	}
}

func (a *afd) close() {
	unix.Close(a.fd)
	unix.Close(a.stop)
	if a.nb != nil {
		a.nb.Close()
	}
}

// nbCall makes one call on the non-blocking description, waiting in the
// poller while it says EAGAIN.
func (a *afd) nbCall(wait func(func(uintptr) bool) error, call func(fd int) (int, error)) (int, error) {
	var n int
	var err error
	if werr := wait(func(fd uintptr) bool {
		n, err = call(int(fd))
		return err != unix.EAGAIN
	}); werr != nil {
		return 0, errStopped
	}
	return n, err
}

func (a *afd) read(p []byte) (int, error) {
	for {
		if a.nb != nil {
			n, err := a.nbCall(a.rc.Read, func(fd int) (int, error) { return unix.Read(fd, p) })
			if err != unix.EINTR {
				return max(n, 0), err
			}
			continue
		}
		var n int
		var err error
		switch a.kind {
		case Socket:
			n, _, err = unix.Recvfrom(a.fd, p, unix.MSG_DONTWAIT)
		case TTY:
			if err = a.wait(unix.POLLIN); err == nil {
				n, err = unix.Read(a.fd, p)
			}
		default:
			n, err = unix.Preadv2(a.fd, [][]byte{p}, -1, unix.RWF_NOWAIT)
		}
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
		case unix.EAGAIN:
			if err := a.wait(unix.POLLIN); err != nil {
				return 0, err
			}
		default:
			return 0, err
		}
	}
}

// write writes all of p. A write of up to pipeBuf bytes to a pipe is made
// in one call, so it is atomic there.
func (a *afd) write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		var n int
		var err error
		switch {
		case a.nb != nil:
			n, err = a.nbCall(a.rc.Write, func(fd int) (int, error) { return unix.Write(fd, p[done:]) })
		case a.kind == Socket:
			n, err = unix.SendmsgN(a.fd, p[done:], nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		case a.kind == PipeWrite:
			n, err = unix.Pwritev2(a.fd, [][]byte{p[done:]}, -1, unix.RWF_NOWAIT)
		default:
			n, err = unix.Write(a.fd, p[done:])
		}
		switch err {
		case nil:
			done += n
		case unix.EINTR:
		case unix.EAGAIN:
			if err := a.wait(unix.POLLOUT); err != nil {
				return done, err
			}
		default:
			return done, err
		}
	}
	return done, nil
}

// wait polls for ev on the fd, or for stop. An error or hang-up on the fd
// ends the wait too: the next call reports it.
func (a *afd) wait(ev int16) error {
	pfd := []unix.PollFd{{Fd: int32(a.fd), Events: ev}, {Fd: int32(a.stop), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(pfd, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if pfd[1].Revents != 0 {
			return errStopped
		}
		if pfd[0].Revents != 0 {
			return nil
		}
	}
}
