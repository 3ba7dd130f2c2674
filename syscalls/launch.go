package syscalls

import (
	"fmt"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// A Launch is a program started by a launcher (herd run). The launcher
// has a PID of its own in the cluster namespace, a virtual record that is
// the program's POSIX parent, so the program sees a parent that is not
// pid 1, its own process group, and its launcher's session.
type Launch struct {
	LauncherPID int
	PID         int
	exited      func(unix.WaitStatus)
	done        bool
}

// Launch starts spec (its PID is chosen here) for a launcher with creds;
// started reports the program's PID, exited its wait status. Tracer
// thread only; use Sentry.Post from elsewhere.
func (k *Kernel) Launch(spec sentry.SpawnSpec, creds pidspace.Creds, started func(pid int, err error), exited func(unix.WaitStatus)) {
	lpid, err := k.alloc.Alloc()
	if err != nil {
		started(0, fmt.Errorf("launch: allocate launcher pid: %w", err))
		return
	}
	if err := k.space.AddVirtual(lpid, creds, "herd-run"); err != nil {
		k.alloc.Free(lpid)
		started(0, fmt.Errorf("launch: %w", err))
		return
	}
	pid, err := k.alloc.Alloc()
	if err != nil {
		k.endLauncher(lpid)
		started(0, fmt.Errorf("launch: allocate pid: %w", err))
		return
	}
	spec.PID = pid
	k.s.Spawn(spec, func(t *sentry.Task, err error) {
		if t != nil && t.TID != pid {
			k.alloc.Reserve(t.TID)
		}
		if err != nil {
			if t == nil {
				k.alloc.Free(pid)
			}
			k.endLauncher(lpid)
			started(0, err)
			return
		}
		comm := spec.Argv[0]
		args := pidspace.SpawnArgs{PPID: lpid, PID: t.TID, Creds: creds, Comm: comm, Args: comm}
		if spec.Session {
			args.PGID, args.SID = t.TID, t.TID
		}
		if err := k.space.Spawn(args); err != nil {
			k.log.Warn("record spawn", "pid", t.TID, "err", err)
		}
		l := &Launch{LauncherPID: lpid, PID: t.TID, exited: exited}
		k.launches[lpid] = l
		started(t.TID, nil)
	})
}

// launchChildChanged reaps the launched program once it has exited.
func (k *Kernel) launchChildChanged(l *Launch) {
	if l.done {
		return
	}
	res, err := k.space.Wait(l.LauncherPID, pidspace.Wait4(l.PID, unix.WNOHANG|unix.WALL))
	if err != nil || res.PID == 0 {
		return
	}
	l.done = true
	delete(k.launches, l.LauncherPID)
	k.endLauncher(l.LauncherPID)
	l.exited(unix.WaitStatus(res.Status))
	k.checkIdle()
}

// endLauncher retires a launcher's record; it has no kernel task.
func (k *Kernel) endLauncher(lpid int) {
	eff, err := k.space.Exit(lpid, pidspace.ExitedStatus(0), pidspace.Rusage{})
	if err != nil {
		k.log.Debug("retire launcher", "pid", lpid, "err", err)
		return
	}
	k.apply(eff)
}

// SignalLaunch forwards sig from launcher lpid to its program's
// foreground process group, as a terminal would.
func (k *Kernel) SignalLaunch(lpid, sig int) {
	l := k.launches[lpid]
	if l == nil {
		return
	}
	pgid, err := k.space.Getpgid(l.PID)
	if err != nil {
		return
	}
	targets, err := k.space.SignalTargets(lpid, -pgid, sig)
	if err != nil {
		return
	}
	for _, tg := range targets {
		if !k.deliverable(tg) {
			continue
		}
		k.signalAs(tg.PID, sig, siKernel, 0, 0)
	}
}

// LauncherOf returns the launcher PID of the launch whose program is pid.
func (k *Kernel) LauncherOf(pid int) int {
	for lpid, l := range k.launches {
		if l.PID == pid {
			return lpid
		}
	}
	return 0
}

// OnIdle is called (on the tracer thread) when the node has no launch in
// progress and no sandboxed task left.
func (k *Kernel) OnIdle(f func()) { k.idle = f }

func (k *Kernel) checkIdle() {
	if k.idle != nil && len(k.launches) == 0 && k.s.TaskCount() == 0 {
		f := k.idle
		k.idle = nil
		f()
	}
}
