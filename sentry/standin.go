package sentry

// The launcher's stand-in: an untraced process with the launcher's PID in
// the node's namespace, so that every call about the program's parent
// that the kernel answers (sched_*, getpriority, prlimit, pidfd_open,
// /proc/<ppid>) finds a process as it would find the user's shell.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"herd/sentry/shim"
)

// StandInSpec is the launcher a stand-in stands for.
type StandInSpec struct {
	// PID is the launcher's PID (the stand-in gets another one only if a
	// herd-init thread took it first; see StandIn.PID).
	PID int
	// Args is its command line; Comm its name (/proc/<pid>/comm).
	Args []string
	Comm string
	Dir  string
	UID  uint32
	GID  uint32
	// Groups are the supplementary groups.
	Groups []uint32
	// Attrs, if not nil, are applied by the stand-in as the caller (after
	// dropping to UID, GID and Groups), so the kernel refuses what the
	// caller could not set itself; nil keeps herd-init's.
	Attrs *ProcAttrs
}

// standInReadyTimeout bounds the wait for a stand-in to say it is ready.
const standInReadyTimeout = 30 * time.Second

// A StandIn is a running stand-in process. It ends (exits) when End
// closes its pipe, and its exit is reported to the gone function given to
// SpawnStandIn, never to Hooks: it is not a sandboxed task.
type StandIn struct {
	PID  int
	conn *os.File // herd-init's end of the stand-in's socket

	ready    chan struct{}
	readyErr error    // set before ready is closed: it never became ready
	problems []string // attributes it could not apply, from its reply

	gone   func(unix.WaitStatus)
	exited bool
	status unix.WaitStatus
}

// SpawnStandIn starts a stand-in with PID spec.PID; started is called on
// the tracer thread once it is forked (it applies spec.Attrs on its own
// meanwhile: see WaitReady), gone when it exits. Tracer thread only.
func (s *Sentry) SpawnStandIn(spec StandInSpec, started func(*StandIn, error), gone func(unix.WaitStatus)) {
	data, err := json.Marshal(shim.StandInWire{Comm: spec.Comm, Dir: spec.Dir,
		UID: spec.UID, GID: spec.GID, Groups: spec.Groups, Attrs: spec.Attrs.wire()})
	if err != nil {
		started(nil, fmt.Errorf("stand-in: encode spec: %w", err))
		return
	}
	shim.Trace("sentry: stand-in spawn")
	s.forks.acquire(func() {
		st, err := s.forkStandIn(spec)
		s.resetLastPid()
		s.forks.release()
		if err == nil {
			// A few hundred bytes on an empty socket: it does not block.
			_, err = st.conn.Write(data)
			if err != nil {
				st.conn.Close()
				unix.Kill(st.PID, unix.SIGKILL)
			}
		}
		if err != nil {
			started(nil, fmt.Errorf("stand-in for launcher %d: %w", spec.PID, err))
			return
		}
		st.gone = gone
		if s.standIns == nil {
			s.standIns = make(map[int]*StandIn)
		}
		s.standIns[st.PID] = st
		go st.awaitReady()
		started(st, nil)
	})
}

// forkStandIn starts the stand-in process; called holding the fork lock.
func (s *Sentry) forkStandIn(spec StandInSpec) (*StandIn, error) {
	exe, env, err := helperExe(shim.StandInEnv+"=1", "GOMAXPROCS=1", "GOGC=off")
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that the wait for its reply can time out.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	conn, end := os.NewFile(uintptr(fds[0]), "stand-in"), os.NewFile(uintptr(fds[1]), "launcher")
	defer end.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer null.Close()
	args := spec.Args
	if len(args) == 0 {
		args = []string{spec.Comm}
	}
	if err := s.setLastPid(spec.PID); err != nil {
		conn.Close()
		return nil, err
	}
	pid, err := syscall.ForkExec(exe, args, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), end.Fd()},
		// Its own session, as the launcher's record leads one; and it
		// must not outlive herd-init's tracer thread, its parent.
		Sys: &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start: %w", err)
	}
	return &StandIn{PID: pid, conn: conn, ready: make(chan struct{})}, nil
}

// awaitReady reads the stand-in's reply (the attributes it could not
// apply), off the tracer thread.
func (st *StandIn) awaitReady() {
	defer close(st.ready)
	st.conn.SetReadDeadline(time.Now().Add(standInReadyTimeout))
	var reply shim.StandInReply
	err := json.NewDecoder(st.conn).Decode(&reply)
	st.conn.SetReadDeadline(time.Time{})
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("it exited before it was ready")
		}
		st.readyErr = fmt.Errorf("stand-in %d: %w", st.PID, err)
		return
	}
	st.problems = reply.Refused
}

// WaitReady waits until the stand-in has taken the caller's identity and
// applied its attributes; it returns the attributes it could not apply
// (the caller may not set them), or an error if it never got ready. Not
// on the tracer thread.
func (st *StandIn) WaitReady() ([]string, error) {
	<-st.ready
	return st.problems, st.readyErr
}

// End makes the stand-in exit (it reads EOF); the tracer reaps it.
// Tracer thread only; ending twice is harmless.
func (st *StandIn) End() {
	st.gone = nil
	if st.conn != nil {
		st.conn.Close()
	}
}

// Exited reports whether the stand-in has exited, and its status. Tracer
// thread only.
func (st *StandIn) Exited() (bool, unix.WaitStatus) { return st.exited, st.status }

// standInEvent handles a wait4 report about a stand-in; false if tid is
// none. A stand-in is not traced: only its exit matters (a stop by
// SIGSTOP from outside is reported too, and left alone).
func (s *Sentry) standInEvent(tid int, ws unix.WaitStatus) bool {
	st := s.standIns[tid]
	if st == nil {
		return false
	}
	if !ws.Exited() && !ws.Signaled() {
		return true
	}
	delete(s.standIns, tid)
	st.exited, st.status = true, ws
	st.conn.Close()
	if gone := st.gone; gone != nil {
		st.gone = nil
		gone(ws)
	}
	return true
}
