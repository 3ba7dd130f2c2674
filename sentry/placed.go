package sentry

// Processes that change nodes at exec. On the node a process leaves, the
// sentry makes its image vanish without a trace (Depart); on the node it
// goes to, it starts the program with the process's PID and state and
// holds it at its exec until the process model there has its record
// (SpawnPlaced, then ReleasePlaced or DropPlaced).

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"herd/sentry/shim"
)

// AsyncRestart is AsyncThen for a call Linux never interrupts (execve):
// a signal that arrives first cancels f and the call is restarted after
// the signal's handler, whatever SA_RESTART says (-ERESTARTNOINTR). A
// then that returns -ERESTARTNOINTR restarts the call too, without a
// signal: the task makes it again, as if it had just arrived.
func AsyncRestart(f AsyncFunc) Action {
	act := AsyncThen(f)
	act.interrupted = -int64(ERESTARTNOINTR)
	return act
}

// PlacedSpec is a process's exec handed to this node by the node it ran
// on: the program, and the state execve keeps, to be reproduced exactly.
type PlacedSpec struct {
	// PID is the process's PID; the program gets exactly this PID or
	// does not start.
	PID  int
	Path string
	Argv []string
	Env  []string
	Dir  string
	// UIDs and GIDs are the real, effective and saved ids.
	UIDs, GIDs [3]uint32
	Groups     []uint32
	Umask      int
	// SigMask is the blocked set (bit sig-1 for signal sig).
	SigMask uint64
	// Ignored are the signals at SIG_IGN, which exec keeps ignored.
	Ignored []int
	// Attrs are its scheduling attributes and resource limits.
	Attrs *ProcAttrs
	// Caps are its capability sets before the exec.
	Caps *Caps `json:",omitempty"`
	// Files are the program's descriptors (this process's fd numbers),
	// by the number the program gets. The sentry closes none of them;
	// the caller does once ready is called.
	Files map[int]int `json:"-"`
}

// Caps are a process's capability sets, which a placed exec starts from.
type Caps = shim.Caps

// placement is the sentry's state of a process started by SpawnPlaced,
// until it is released or dropped.
type placement struct {
	// ready is called once: with the task held at its exec, or with the
	// errno its shim failed with.
	ready func(t *Task, err error)
	held  *Task
}

// SpawnPlaced starts spec's program as SpawnSpec's are started, but with
// exactly spec.PID and the state spec gives, and holds it, stopped at its
// exec, before its first instruction: ready gets the held task, or the
// errno of what failed (the exec's, or EAGAIN if the PID was taken). The
// process is not reported to the Hooks until ReleasePlaced. Tracer
// thread only.
func (s *Sentry) SpawnPlaced(spec PlacedSpec, ready func(t *Task, err error)) {
	data, err := json.Marshal(s.placedShimSpec(&spec))
	if err != nil {
		ready(nil, fmt.Errorf("place %s: encode spec: %w", spec.Path, err))
		return
	}
	s.forks.acquire(func() {
		pid, conn, err := s.forkPlacedShim(&spec)
		s.resetLastPid()
		s.forks.release()
		if err != nil {
			ready(nil, err)
			return
		}
		go s.awaitShim(spec.Path, nil, pid, conn, data, func(t *Task, err error) {
			if err != nil {
				ready(nil, err)
				return
			}
			// Set before the tracer sees its exec: the shim has not
			// read its spec yet.
			s.procOf(pid).placed = &placement{ready: ready}
		})
	})
}

func (s *Sentry) placedShimSpec(spec *PlacedSpec) shim.Spec {
	return shim.Spec{
		Path: spec.Path, Argv: spec.Argv, Env: spec.Env, Dir: spec.Dir,
		Groups: spec.Groups, Filter: s.filter, Ignored: spec.Ignored, Attrs: spec.Attrs.wire(),
		Placed: &shim.Placed{UIDs: spec.UIDs, GIDs: spec.GIDs, Umask: spec.Umask, SigMask: spec.SigMask, Caps: spec.Caps},
	}
}

// forkPlacedShim starts the shim with spec's descriptors at their numbers
// and its spec socket above them (its number is the shim's argv[1]), in a
// session of its own: the process's group and session are the process
// model's, and no kernel group of this node is its. Fork lock held.
func (s *Sentry) forkPlacedShim(spec *PlacedSpec) (int, *os.File, error) {
	conn, shimEnd, err := shimSocket()
	if err != nil {
		return 0, nil, fmt.Errorf("place %s: %w", spec.Path, err)
	}
	defer shimEnd.Close()
	top := -1
	for n := range spec.Files {
		top = max(top, n)
	}
	files := slices.Repeat([]uintptr{^uintptr(0)}, top+2) // -1: closed in the child
	for n, fd := range spec.Files {
		files[n] = uintptr(fd)
	}
	specFD := top + 1
	files[specFD] = shimEnd.Fd()
	for range placeForkTries {
		pid, err := s.startShim(spec.PID, files, &syscall.SysProcAttr{Setsid: true}, strconv.Itoa(specFD))
		if err != nil {
			conn.Close()
			return 0, nil, fmt.Errorf("place %s: start shim: %w", spec.Path, err)
		}
		if pid == spec.PID {
			return pid, conn, nil
		}
		// A thread the Go runtime started meanwhile took the PID (its
		// threads take the next one too): try again.
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
	}
	conn.Close()
	return 0, nil, fmt.Errorf("place %s: pid %d taken: %w", spec.Path, spec.PID, unix.EAGAIN)
}

// placeForkTries bounds the forks that try for a placed process's PID.
const placeForkTries = 4

// placedExec holds a placed process at its exec and says it is ready;
// false if t is not one.
func (s *Sentry) placedExec(t *Task) bool {
	p := s.procs[t.TGID]
	if p == nil || p.placed == nil || p.placed.held != nil {
		return false
	}
	p.placed.held = t
	t.state = stateHeld
	shim.Trace("sentry: placed exec held")
	p.placed.ready(t, nil)
	return true
}

// placedGone ends a placed process that died before it was released (its
// shim failed, or it was dropped); true if tgid was one. Its status is
// the errno of what failed, as the shim exits.
func (s *Sentry) placedGone(p *proc, ws unix.WaitStatus) bool {
	if p.placed == nil {
		return false
	}
	pl := p.placed
	p.placed = nil
	if pl.held == nil {
		err := error(unix.EIO)
		if ws.Exited() && ws.ExitStatus() > 0 {
			err = unix.Errno(ws.ExitStatus())
		}
		pl.ready(nil, err)
	}
	return true
}

// ReleasePlaced lets a held placed process run: it is now the node's
// like any other task (Hooks.Execed reports its exec).
func (s *Sentry) ReleasePlaced(t *Task) {
	p := s.procs[t.TGID]
	if p == nil || p.placed == nil || p.placed.held != t {
		return
	}
	p.placed, p.shim = nil, false
	s.cfg.Hooks.Execed(t)
	s.resume(t, 0)
}

// DropPlaced kills a held placed process without a trace: its exit is
// reported to no one.
func (s *Sentry) DropPlaced(t *Task) {
	p := s.procs[t.TGID]
	if p == nil || p.placed == nil {
		return
	}
	p.departed = true
	unix.Kill(t.TGID, unix.SIGKILL)
}

// Depart makes process tgid vanish from this node without a trace: it
// is killed, and its exit is reported to no one (Hooks.Exited is not
// called; its other threads are reported as ThreadExited, their TIDs
// being this node's); gone, if not nil, runs on the tracer thread once
// its kernel task is reaped and its PID free in this node's namespace.
// The process goes on elsewhere. Tracer thread.
func (s *Sentry) Depart(tgid int, gone func()) error {
	p := s.procs[tgid]
	if p == nil || p.threads == 0 {
		return fmt.Errorf("depart %d: %w", tgid, unix.ESRCH)
	}
	p.departed, p.departedGone = true, gone
	return unix.Kill(tgid, unix.SIGKILL)
}

// BlockSignals blocks every signal of the stopped task t (SIGKILL and
// SIGSTOP aside) and returns what restores its mask. A call that Linux
// does not let signals interrupt but that herd runs asynchronously (an
// exec placed on another node) waits so: a signal that arrives meanwhile
// stays pending, as if it had come just after the call. Tracer thread.
func (t *Task) BlockSignals() (restore func(), err error) {
	var old uint64
	if err := ptrace(unix.PTRACE_GETSIGMASK, t.TID, 8, uintptr(unsafe.Pointer(&old))); err != nil {
		return nil, fmt.Errorf("get signal mask of %v: %w", t, err)
	}
	all := ^uint64(0)
	if err := ptrace(unix.PTRACE_SETSIGMASK, t.TID, 8, uintptr(unsafe.Pointer(&all))); err != nil {
		return nil, fmt.Errorf("block signals of %v: %w", t, err)
	}
	restore = func() {
		if t.unblock == nil {
			return
		}
		t.unblock = nil
		if err := ptrace(unix.PTRACE_SETSIGMASK, t.TID, 8, uintptr(unsafe.Pointer(&old))); err != nil {
			t.s.log.Warn("restore signal mask", "task", t, "err", err)
		}
	}
	t.unblock = restore
	return restore, nil
}
