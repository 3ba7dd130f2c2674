package syscalls

import (
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// A launch is a program started by a launcher (herd run). The launcher
// has a PID of its own in the cluster namespace, a virtual record that is
// the program's POSIX parent, so the program sees a parent that is not
// pid 1, its own process group, and its launcher's session. A stand-in
// process (sentry.StandIn) holds that PID in the kernel, so that what the
// kernel answers about the parent (sched_*, getpriority, prlimit,
// pidfd_open, /proc/<ppid>) finds a process, as it would find a shell.
type launch struct {
	LauncherPID int
	PID         int
	exited      func(unix.WaitStatus)
}

// launches is the launcher's bookkeeping: the programs started by
// launchers, by launcher PID until the launch ends (finish drops it), and the idle callback that waits for them.
// It runs on the tracer thread, with the process model and allocator of
// its Kernel and what it needs of the sentry and the Kernel as functions.
type launches struct {
	procs        ProcessModel
	alloc        pidspace.Allocator
	log          *slog.Logger
	spawn        func(spec sentry.SpawnSpec, started func(t *sentry.Task, err error))
	spawnStandIn func(spec sentry.StandInSpec, started func(*sentry.StandIn, error), gone func(unix.WaitStatus))
	taskCount    func() int
	apply        func(pidspace.Effects)
	// exitVirtual records the exit of a launcher's record and carries
	// out its effects (Kernel.exitVirtual).
	exitVirtual func(pid int)

	byPID    map[int]*launch
	standIns map[int]*sentry.StandIn // by launcher PID, until the launch ends
	onIdle   func()
}

func newLaunches(k *Kernel) *launches {
	return &launches{
		procs: k.procs,
		alloc: k.alloc,
		log:   k.log,
		spawn: func(spec sentry.SpawnSpec, started func(*sentry.Task, error)) { k.s.Spawn(spec, started) },
		spawnStandIn: func(spec sentry.StandInSpec, started func(*sentry.StandIn, error), gone func(unix.WaitStatus)) {
			k.s.SpawnStandIn(spec, started, gone)
		},
		taskCount:   func() int { return k.s.TaskCount() },
		apply:       k.apply,
		exitVirtual: k.exitVirtual,
		byPID:       make(map[int]*launch),
		standIns:    make(map[int]*sentry.StandIn),
	}
}

// Launch starts spec (its PID is chosen here) for a launcher with creds,
// after the launcher's stand-in parent (its PID is chosen here too);
// started reports the program's PID, exited its wait status. Tracer
// thread only; use Sentry.Post from elsewhere.
func (k *Kernel) Launch(spec sentry.SpawnSpec, parent sentry.StandInSpec, creds pidspace.Creds, started func(pid int, err error), exited func(unix.WaitStatus)) {
	k.launches.start(spec, parent, creds, started, exited)
}

// start makes the launcher: a PID, its stand-in, its record; then the
// program.
func (ls *launches) start(spec sentry.SpawnSpec, parent sentry.StandInSpec, creds pidspace.Creds, started func(pid int, err error), exited func(unix.WaitStatus)) {
	lpid, err := ls.alloc.Alloc()
	if err != nil {
		started(0, fmt.Errorf("launch: allocate launcher pid: %w", err))
		return
	}
	parent.PID = lpid
	ls.spawnStandIn(parent, func(st *sentry.StandIn, err error) {
		if err == nil && st.PID != lpid {
			// A herd-init thread took lpid: the stand-in's PID is the
			// launcher's.
			if err = ls.alloc.Reserve(st.PID); err != nil {
				st.End()
				err = fmt.Errorf("stand-in got pid %d: %w", st.PID, err)
			} else {
				ls.alloc.Free(lpid)
				lpid = st.PID
			}
		}
		if err == nil {
			err = ls.procs.AddVirtual(lpid, creds, "herd-run")
			if err != nil {
				st.End()
			}
		}
		if err != nil {
			ls.alloc.Free(lpid)
			started(0, fmt.Errorf("launch: %w", err))
			return
		}
		ls.standIns[lpid] = st
		spec.Parent = st
		ls.startProgram(spec, creds, lpid, started, exited)
	}, func(ws unix.WaitStatus) { ls.launcherGone(lpid, ws) })
}

// startProgram spawns the program of launcher lpid.
func (ls *launches) startProgram(spec sentry.SpawnSpec, creds pidspace.Creds, lpid int, started func(pid int, err error), exited func(unix.WaitStatus)) {
	pid, err := ls.alloc.Alloc()
	if err != nil {
		ls.end(lpid)
		started(0, fmt.Errorf("launch: allocate pid: %w", err))
		return
	}
	spec.PID = pid
	ls.spawn(spec, func(t *sentry.Task, err error) {
		if t != nil && t.TID != pid {
			ls.alloc.Reserve(t.TID)
		}
		if err != nil {
			if t == nil {
				ls.alloc.Free(pid)
			}
			ls.end(lpid)
			started(0, err)
			return
		}
		ls.spawned(spec, creds, lpid, t.TID, exited)
		started(t.TID, nil)
		if spec.Parent != nil {
			if dead, ws := spec.Parent.Exited(); dead {
				ls.launcherGone(lpid, ws)
			}
		}
	})
}

// spawned records the program pid the launcher lpid started.
func (ls *launches) spawned(spec sentry.SpawnSpec, creds pidspace.Creds, lpid, pid int, exited func(unix.WaitStatus)) {
	comm := spec.Argv[0]
	args := pidspace.SpawnArgs{PPID: lpid, PID: pid, Creds: creds, Comm: comm, Args: comm}
	if spec.Session {
		args.PGID, args.SID = pid, pid
	}
	if err := ls.procs.Spawn(args); err != nil {
		ls.log.Warn("record spawn", "pid", pid, "err", err)
	}
	ls.byPID[lpid] = &launch{LauncherPID: lpid, PID: pid, exited: exited}
}

// childChanged reaps the program of launcher lpid (if lpid is one) once
// it has exited, as the launcher's wait.
func (ls *launches) childChanged(lpid int) {
	l := ls.byPID[lpid]
	if l == nil {
		return
	}
	res, err := ls.procs.Wait(l.LauncherPID, pidspace.Wait4(l.PID, unix.WNOHANG|unix.WALL))
	if err != nil || res.PID == 0 {
		return
	}
	if len(res.Remote) > 0 {
		ls.apply(pidspace.Effects{Remote: res.Remote}) // a program homed elsewhere
	}
	ls.finish(l, unix.WaitStatus(res.Status))
}

// launcherGone is the death of launcher lpid's stand-in, which ignores
// every signal it can: something killed it (SIGKILL from outside, or
// through a pidfd). As when a shell dies, the launch ends: the program
// is reparented and runs on, and the launcher is told the stand-in's
// status, a shell's as its caller would see it. A stand-in that dies
// before its program is recorded is handled once it is (startProgram).
func (ls *launches) launcherGone(lpid int, ws unix.WaitStatus) {
	delete(ls.standIns, lpid)
	if l := ls.byPID[lpid]; l != nil {
		ls.log.Info("launcher's stand-in died; its program runs on", "launcher", lpid, "program", l.PID, "status", ws)
		ls.finish(l, ws)
	}
}

// programExited ends the launch whose program pid exited with ws at
// once, before the process model has recorded the exit (which, with
// peers, the lane does later, maybe after asking them): herd run learns
// its program's status without waiting for the other nodes. The
// launcher's record exits after the program's on the lane, and its
// zombie child goes to init, which reaps it, as the launcher's wait did.
func (ls *launches) programExited(pid int, ws unix.WaitStatus) {
	for _, l := range ls.byPID {
		if l.PID == pid {
			ls.finish(l, ws)
			return
		}
	}
}

// finish ends launch l, telling its launcher ws.
func (ls *launches) finish(l *launch, ws unix.WaitStatus) {
	delete(ls.byPID, l.LauncherPID)
	ls.end(l.LauncherPID)
	l.exited(ws)
	ls.checkIdle()
}

// end retires a launcher: its stand-in exits, and its record, which the
// stand-in's exit does not touch, is exited here.
func (ls *launches) end(lpid int) {
	if st := ls.standIns[lpid]; st != nil {
		delete(ls.standIns, lpid)
		st.End()
	}
	ls.exitVirtual(lpid)
}

// exitVirtual records that the launcher's record pid exited (with
// status 0) and carries out the effects, in order with the hooks' (the
// exit may wait for peers: see peers.go).
func (k *Kernel) exitVirtual(pid int) {
	k.ordered(func() func() {
		eff, err := k.procs.Exit(pid, pidspace.ExitedStatus(0), pidspace.Rusage{})
		return func() {
			if err != nil {
				k.log.Debug("retire launcher", "pid", pid, "err", err)
				return
			}
			k.apply(eff)
		}
	})
}

// SignalLaunch forwards sig from launcher lpid to its program's
// foreground process group, as a terminal would.
func (k *Kernel) SignalLaunch(lpid, sig int) {
	l := k.launches.byPID[lpid]
	if l == nil {
		return
	}
	pgid, err := k.procs.Getpgid(l.PID)
	if err != nil {
		return
	}
	// The group may have members on other nodes: asked on the lane.
	k.ordered(func() func() {
		targets, err := k.procs.SignalTargets(lpid, -pgid, sig)
		if err != nil {
			return nil
		}
		return func() {
			for _, tg := range targets {
				if receives(tg) {
					k.signalAs(tg, sig, siKernel, 0, 0)
				}
			}
		}
	})
}

// LauncherOf returns the launcher PID of the launch whose program is pid.
func (k *Kernel) LauncherOf(pid int) int {
	for lpid, l := range k.launches.byPID {
		if l.PID == pid {
			return lpid
		}
	}
	return 0
}

// OnIdle is called (on the tracer thread) when the node has no launch in
// progress and no sandboxed task left.
func (k *Kernel) OnIdle(f func()) { k.launches.onIdle = f }

func (ls *launches) checkIdle() {
	if ls.onIdle != nil && len(ls.byPID) == 0 && ls.taskCount() == 0 {
		f := ls.onIdle
		ls.onIdle = nil
		f()
	}
}
