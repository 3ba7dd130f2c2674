package sentry

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"

	"gvisor.dev/gvisor/pkg/bpf"
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
}

// Spawn starts spec's program under the sentry: a seized herd-shim child
// installs the filter, drops credentials and execs it. The program gets
// its own process group. started is called on the tracer thread with the
// task, whose PID may differ from spec.PID only as CloneOp describes, or
// with an error. Tracer thread only.
func (s *Sentry) Spawn(spec SpawnSpec, started func(t *Task, err error)) {
	s.forks.acquire(func() {
		t, err := s.spawnLocked(spec)
		s.resetLastPid()
		s.forks.release()
		started(t, err)
	})
}

func (s *Sentry) spawnLocked(spec SpawnSpec) (*Task, error) {
	exe, err := selfExe()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", spec.Path, err)
	}
	defer r.Close()
	if err := s.setLastPid(spec.PID); err != nil {
		return nil, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if spec.Session {
		// Setctty's Ctty is a descriptor of the child.
		sys = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else if spec.Foreground {
		// For Foreground, Ctty is a descriptor of the parent, not the child.
		sys = &syscall.SysProcAttr{Foreground: true, Ctty: int(spec.Stdio[0].Fd())}
	}
	pid, err := syscall.ForkExec(exe, []string{shimName}, &syscall.ProcAttr{
		Env:   []string{"GOMAXPROCS=1", "GOGC=off"},
		Files: []uintptr{spec.Stdio[0].Fd(), spec.Stdio[1].Fd(), spec.Stdio[2].Fd(), r.Fd()},
		Sys:   sys,
	})
	if err != nil && spec.Foreground {
		s.log.Debug("spawn in the foreground", "err", err)
		// Not the terminal's session (or not a terminal): run it in
		// its own group without the terminal.
		sys = &syscall.SysProcAttr{Setpgid: true}
		if err := s.setLastPid(spec.PID); err != nil {
			w.Close()
			return nil, err
		}
		pid, err = syscall.ForkExec(exe, []string{shimName}, &syscall.ProcAttr{
			Env:   []string{"GOMAXPROCS=1", "GOGC=off"},
			Files: []uintptr{spec.Stdio[0].Fd(), spec.Stdio[1].Fd(), spec.Stdio[2].Fd(), r.Fd()},
			Sys:   sys,
		})
	}
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("spawn %s: start shim: %w", spec.Path, err)
	}
	if err := ptraceSeize(pid); err != nil {
		w.Close()
		syscall.Kill(pid, syscall.SIGKILL)
		return nil, fmt.Errorf("spawn %s: seize: %w", spec.Path, err)
	}
	t := &Task{TID: pid, TGID: pid, s: s, state: stateRunning}
	s.adopt(t)
	s.procOf(pid).shim = true
	data, err := json.Marshal(shimSpec{
		Path: spec.Path, Argv: spec.Argv, Env: spec.Env, Dir: spec.Dir,
		UID: spec.UID, GID: spec.GID, Groups: spec.Groups,
		Filter: s.filter, Ignored: spec.Ignored,
	})
	if err != nil {
		w.Close()
		syscall.Kill(pid, syscall.SIGKILL)
		return t, fmt.Errorf("spawn %s: encode spec: %w", spec.Path, err)
	}
	// Written off the tracer thread: the shim reads it while the tracer
	// serves the shim's own stops, and a large environment may not fit
	// the pipe.
	go func() {
		w.Write(data)
		w.Close()
	}()
	return t, nil
}
