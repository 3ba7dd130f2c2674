package sentry

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"

	"herd/sentry/shim"
)

type bpfInstruction = bpf.Instruction

// SpawnSpec says what program to start and as whom.
type SpawnSpec struct {
	// PID is the PID the program must have.
	PID  int
	Path string
	Argv []string
	Env  []string
	Dir  string
	UID  uint32
	GID  uint32
	// Groups are the supplementary groups.
	Groups []uint32
	// Stdio are the program's fds 0, 1, 2.
	Stdio [3]*os.File
	// Foreground makes the program's new process group the foreground
	// group of the terminal on Stdio[0], as a shell does for a job.
	Foreground bool
	// Session makes the program lead a new session whose controlling
	// terminal is Stdio[0] (a pseudo-terminal of its own).
	Session bool
	// Ignored are signals the caller ignores; the program inherits that.
	Ignored []int
	// Attrs, if not nil, are the caller's scheduling attributes and
	// limits, which the program inherits as a shell's child would; the
	// shim applies them with the caller's credentials.
	Attrs *ProcAttrs
	// Parent, if not nil, is the launcher's stand-in: the program does
	// not run before it is ready (has the caller's identity and
	// attributes), so that it never sees its parent half made.
	Parent *StandIn
}

// Spawn starts spec's program under the sentry: a seized herd-shim child
// installs the filter, drops credentials and execs it. The program gets
// its own process group. started is called on the tracer thread with the
// task, whose PID may differ from spec.PID only as CloneOp describes, or
// with an error. Tracer thread only.
//
// The shim is seized only once it says it is running (a byte on its spec
// socket): seized while the kernel was still finishing its exec of the
// herd binary, it would report that exec too, which the sentry would take
// for the program's and so trace the shim's own calls (setresuid…) in
// some runs and not others.
func (s *Sentry) Spawn(spec SpawnSpec, started func(t *Task, err error)) {
	shim.Trace("sentry: spawn")
	data, err := json.Marshal(shim.Spec{
		Path: spec.Path, Argv: spec.Argv, Env: spec.Env, Dir: spec.Dir,
		UID: spec.UID, GID: spec.GID, Groups: spec.Groups,
		Filter: s.filter, Ignored: spec.Ignored, Attrs: spec.Attrs.wire(),
		Notify: s.notifyFilter,
	})
	if err != nil {
		started(nil, fmt.Errorf("spawn %s: encode spec: %w", spec.Path, err))
		return
	}
	s.forks.acquire(func() {
		pid, conn, err := s.forkShim(spec)
		s.resetLastPid()
		s.forks.release()
		if err != nil {
			started(nil, err)
			return
		}
		go s.awaitShim(spec.Path, spec.Parent, pid, conn, data, started)
	})
}

// awaitShim waits, off the tracer thread, for the shim to run and for the
// parent's stand-in (if any) to be ready, then has the tracer seize the
// shim; the spec follows once it is seized. The two start side by side.
func (s *Sentry) awaitShim(path string, parent *StandIn, pid int, conn *os.File, data []byte, started func(*Task, error)) {
	var ready [1]byte
	_, err := io.ReadFull(conn, ready[:])
	shim.Trace("sentry: shim running")
	if err != nil {
		err = fmt.Errorf("spawn %s: shim did not start: %w", path, err)
	} else if parent != nil {
		var problems []string
		problems, err = parent.WaitReady()
		shim.Trace("sentry: stand-in ready")
		if len(problems) > 0 {
			s.log.Debug("launcher stand-in keeps herd-init's values", "pid", parent.PID, "refused", problems)
		}
	}
	if err != nil {
		// The shim reads an empty spec and exits.
		conn.Close()
		s.Post(func() { started(nil, err) })
		return
	}
	s.Post(func() {
		if err := ptraceSeize(pid); err != nil {
			conn.Close()
			unix.Kill(pid, unix.SIGKILL)
			started(nil, fmt.Errorf("spawn %s: seize: %w", path, err))
			return
		}
		t := &Task{TID: pid, TGID: pid, s: s, state: stateRunning}
		s.adopt(t)
		s.procOf(pid).shim = true
		// Written off the tracer thread: the shim reads it while the
		// tracer serves the shim's own stops, and a large environment
		// may not fit the socket's buffer.
		go func() {
			if _, err := conn.Write(data); err == nil && s.notifyFilter != nil {
				s.takeListener(conn) // notify.go
			}
			conn.Close()
		}()
		shim.Trace("sentry: shim seized")
		started(t, nil)
	})
}

// forkShim starts the shim with PID spec.PID; called holding the fork
// lock. conn is the sentry's end of the shim's spec socket.
func (s *Sentry) forkShim(spec SpawnSpec) (int, *os.File, error) {
	conn, shimEnd, err := shimSocket()
	if err != nil {
		return 0, nil, fmt.Errorf("spawn %s: %w", spec.Path, err)
	}
	defer shimEnd.Close()
	files := []uintptr{spec.Stdio[0].Fd(), spec.Stdio[1].Fd(), spec.Stdio[2].Fd(), shimEnd.Fd()}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if spec.Session {
		// Setctty's Ctty is a descriptor of the child.
		sys = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else if spec.Foreground {
		// For Foreground, Ctty is a descriptor of the parent, not the child.
		sys = &syscall.SysProcAttr{Foreground: true, Ctty: int(spec.Stdio[0].Fd())}
	}
	pid, err := s.startShim(spec.PID, files, sys)
	if err != nil && spec.Foreground {
		s.log.Debug("spawn in the foreground", "err", err)
		// Not the terminal's session (or not a terminal): run it in
		// its own group without the terminal.
		pid, err = s.startShim(spec.PID, files, &syscall.SysProcAttr{Setpgid: true})
	}
	if err != nil {
		conn.Close()
		return 0, nil, fmt.Errorf("spawn %s: start shim: %w", spec.Path, err)
	}
	return pid, conn, nil
}

// shimSocket is a new spec socket: conn, the sentry's end, and shimEnd,
// the shim's (to close once it is forked).
func shimSocket() (conn, shimEnd *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "shim"), os.NewFile(uintptr(fds[1]), "spec"), nil
}

// startShim forks and execs the shim with PID pid (ns_last_pid; a task
// started meanwhile may take it), args after its name.
func (s *Sentry) startShim(pid int, files []uintptr, sys *syscall.SysProcAttr, args ...string) (int, error) {
	exe, env, err := helperExe("GOMAXPROCS=1", "GOGC=off")
	if err != nil {
		return 0, err
	}
	if err := s.setLastPid(pid); err != nil {
		return 0, err
	}
	shim.Trace("sentry: fork shim")
	return syscall.ForkExec(exe, append([]string{shim.ShimName}, args...), &syscall.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   sys,
	})
}
