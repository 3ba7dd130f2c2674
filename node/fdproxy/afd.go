package fdproxy

import (
	"errors"

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
type afd struct {
	fd   int
	kind Kind
	stop int
}

var errStopped = errors.New("fdproxy: proxy stopped")

func (a *afd) read(p []byte) (int, error) {
	for {
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
		switch a.kind {
		case Socket:
			n, err = unix.SendmsgN(a.fd, p[done:], nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		case PipeWrite:
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
