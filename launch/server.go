package launch

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Request is a validated run request: the program, and who runs it (from
// the socket, not from the message).
type Request struct {
	Path string
	Argv []string
	Env  []string
	Dir  string
	Creds
	// Stdio are the program's fds 0, 1, 2; the Server closes them once
	// started has been called.
	Stdio      [3]*os.File
	Foreground bool
	Session    bool
	Ignored    []int
	// Parent is what the launcher said of itself (validated; nil if it
	// said nothing): the node's stand-in for it applies it as the caller.
	Parent *Parent
	// Placement is the placement policy asked for ("" for the node's
	// default); the Runner checks it.
	Placement string
}

// A Runner starts programs: the node's emulated kernel.
//
// Launch must not block. It calls started exactly once, from any
// goroutine: with the program's PID and a launcher handle for Signal, or
// with an error; then, if started, exited once with the program's wait
// status. Neither callback blocks, so both may be called on the tracer
// thread. Signal delivers sig to the launch's foreground job; it must not
// block either, and a handle whose launch has ended is ignored.
type Runner interface {
	Launch(req *Request, started func(pid, launcher int, err error), exited func(unix.WaitStatus))
	Signal(launcher, sig int)
}

// Server serves the launcher protocol.
type Server struct {
	Runner Runner
	// Queries answers herd nodes, ps and nodes remove; nil on a node that
	// is not part of a cluster (herd run's embedded node).
	Queries Queries
}

// Serve accepts connections on the listening socket lfd and serves each
// in its own goroutine, until accept fails (lfd closed).
func (s *Server) Serve(lfd int) {
	for {
		fd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
			go s.ServeConn(fd)
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE):
			time.Sleep(50 * time.Millisecond)
		default:
			return
		}
	}
}

// ServeConn serves one connection until it closes, closes it, and reports
// whether it launched a program.
func (s *Server) ServeConn(fd int) (launched bool) {
	c := newConn(fd)
	defer c.close()
	m, files, err := Recv(fd)
	if err != nil || m.Op == "" {
		closeFiles(files)
		return false
	}
	if m.Op == OpRun {
		return s.serveRun(c, m, files)
	}
	closeFiles(files)
	switch m.Op {
	case OpNodes, OpPs, OpRemove, OpPlacement:
		if s.Queries == nil {
			c.fail(errors.New("this node is not part of a cluster"))
			return false
		}
		s.serveQuery(c, m)
	default:
		c.fail(fmt.Errorf("unknown request %q", m.Op))
	}
	return false
}

// serveRun launches the program of a run request as the peer, then
// forwards the launcher's signals to it until the launcher hangs up. The
// program runs on when its launcher goes.
func (s *Server) serveRun(c *conn, m Msg, files []*os.File) bool {
	req, err := runRequest(c.fd, m, files)
	if err != nil {
		closeFiles(files)
		c.fail(err)
		return false
	}
	launcher := make(chan int, 1)
	s.Runner.Launch(req, func(pid, lpid int, err error) {
		closeFiles(files)
		if err != nil {
			c.post(Msg{Op: OpError, Error: err.Error()})
			launcher <- 0
			return
		}
		c.post(Msg{Op: OpStarted, PID: pid})
		launcher <- lpid
	}, func(ws unix.WaitStatus) {
		c.post(Msg{Op: OpExited, Status: int(ws)})
	})
	lpid := <-launcher
	if lpid == 0 {
		return false
	}
	for {
		m, files, err := Recv(c.fd)
		closeFiles(files)
		if err != nil || m.Op == "" {
			return true
		}
		if m.Op == OpSignal && forwardable(m.Sig) {
			s.Runner.Signal(lpid, m.Sig)
		}
	}
}

// runRequest validates a run message and makes it a Request for the peer
// of fd.
func runRequest(fd int, m Msg, files []*os.File) (*Request, error) {
	if err := validateRun(m, len(files)); err != nil {
		return nil, err
	}
	creds, err := peerCreds(fd)
	if err != nil {
		return nil, err
	}
	req := &Request{
		Path: m.Path, Argv: m.Argv, Env: m.Env, Dir: m.Dir, Creds: creds,
		Stdio:      [3]*os.File{files[0], files[1], files[2]},
		Foreground: m.Foreground, Session: m.Session, Ignored: m.Ignored,
		Parent: m.Parent, Placement: m.Placement,
	}
	if len(req.Argv) == 0 {
		req.Argv = []string{m.Path}
	}
	return req, nil
}
