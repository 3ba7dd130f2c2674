package syscalls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// Kernel is the emulated part of the node's kernel: the process model,
// the handlers that read and change it, and the Hooks through which the
// sentry reports what tasks did. Its methods run on the tracer thread
// unless they say otherwise.
type Kernel struct {
	node  string
	space *pidspace.Space
	alloc pidspace.Allocator
	s     *sentry.Sentry
	log   *slog.Logger

	// waiters are the parked wait calls, by waiting process.
	waiters map[int][]*waiter
	// launches are the programs started by launchers, by launcher PID.
	launches map[int]*Launch
	// creators knows which thread made each child process.
	creators creators
	// pidfds remembers the target of each pidfd a process made, by
	// process and fd.
	pidfds map[int]map[int]int
	// idle is called when nothing runs here any more.
	idle func()
}

// NewKernel makes the emulated kernel of node over space, whose PIDs come
// from alloc.
func NewKernel(node string, space *pidspace.Space, alloc pidspace.Allocator, log *slog.Logger) *Kernel {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Kernel{
		node:     node,
		space:    space,
		alloc:    alloc,
		log:      log,
		waiters:  make(map[int][]*waiter),
		launches: make(map[int]*Launch),
		pidfds:   make(map[int]map[int]int),
		creators: newCreators(),
	}
}

// Attach binds the kernel to the sentry that runs its table.
func (k *Kernel) Attach(s *sentry.Sentry) { k.s = s }

// Space is the process model.
func (k *Kernel) Space() *pidspace.Space { return k.space }

// caller is the POSIX process a task belongs to.
func caller(t *sentry.Task) int { return t.TGID }

// errno turns an error from pidspace into the errno the caller gets.
func errno(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EINVAL
}

// clockTicks converts a duration to USER_HZ ticks, as siginfo and times()
// report them.
func clockTicks(d time.Duration) int64 { return int64(d / (time.Second / 100)) }

func rusageOf(ru *unix.Rusage) pidspace.Rusage {
	if ru == nil {
		return pidspace.Rusage{}
	}
	return pidspace.Rusage{
		Utime:   time.Duration(ru.Utime.Nano()),
		Stime:   time.Duration(ru.Stime.Nano()),
		Maxrss:  ru.Maxrss,
		Minflt:  ru.Minflt,
		Majflt:  ru.Majflt,
		Inblock: ru.Inblock,
		Oublock: ru.Oublock,
		Nvcsw:   ru.Nvcsw,
		Nivcsw:  ru.Nivcsw,
	}
}

func kernelRusage(r pidspace.Rusage) unix.Rusage {
	return unix.Rusage{
		Utime:   unix.NsecToTimeval(r.Utime.Nanoseconds()),
		Stime:   unix.NsecToTimeval(r.Stime.Nanoseconds()),
		Maxrss:  r.Maxrss,
		Minflt:  r.Minflt,
		Majflt:  r.Majflt,
		Inblock: r.Inblock,
		Oublock: r.Oublock,
		Nvcsw:   r.Nvcsw,
		Nivcsw:  r.Nivcsw,
	}
}

// Cloned implements sentry.Hooks.
func (k *Kernel) Cloned(parent, child *sentry.Task, op *sentry.CloneOp) {
	if op.PID != op.ChildPID {
		// A PID the Space did not choose (a helper's own thread, or a
		// herd-init thread took the chosen one): account for both.
		if err := k.alloc.Reserve(op.ChildPID); err != nil {
			k.log.Warn("adopt unexpected pid", "pid", op.ChildPID, "err", err)
		}
		if op.PID != 0 {
			k.log.Warn("pid taken by herd-init; retired", "wanted", op.PID, "got", op.ChildPID)
		}
	}
	if op.Thread {
		return
	}
	c, _ := op.Value.(*cloneRequest)
	if c == nil {
		c = &cloneRequest{exitSignal: int(unix.SIGCHLD)}
	}
	posixParent := caller(parent)
	exitSignal := c.exitSignal
	if c.parent {
		// CLONE_PARENT: the caller's parent, with the caller's exit
		// signal, as copy_process does.
		if p, ok := k.space.Lookup(posixParent); ok {
			posixParent = p.PPID
			exitSignal = p.ExitSignal
		}
	}
	if err := k.space.Fork(posixParent, child.TID, exitSignal); err != nil {
		k.log.Warn("record fork", "parent", posixParent, "child", child.TID, "err", err)
	}
	if posixParent == caller(parent) {
		k.creators.set(child.TID, parent.TID)
	}
	if op.Flags&unix.CLONE_PIDFD != 0 {
		// clone(CLONE_PIDFD) wrote the new pidfd at parent_tid (arg 2)
		// before this event. Remember its target as pidfd_open does:
		// herd-init reaps the kernel task at once, after which fdinfo
		// no longer names it, but waitid(P_PIDFD) must still find the
		// zombie in pidspace.
		var b [4]byte
		if err := parent.ReadMem(parent.Arg(2), b[:]); err == nil {
			if fd := int32(binary.NativeEndian.Uint32(b[:])); fd >= 0 {
				k.rememberPidfd(caller(parent), int(fd), child.TID)
			}
		}
	}
}

// Execed implements sentry.Hooks: pidspace learns the new command (for
// ps) and, from the same /proc status read, the credentials a set-uid or
// set-gid program changed at exec.
func (k *Kernel) Execed(t *sentry.Task) {
	var comm, args string
	st, err := sentry.ReadProcStatus(t.TID)
	if err == nil {
		comm = st["Name"]
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", t.TID)); err == nil {
		args = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	if err := k.space.Exec(t.TGID, comm, args); err != nil {
		k.log.Debug("record exec", "pid", t.TGID, "err", err)
	}
	if st != nil {
		k.recordCreds(t.TGID, st)
	}
}

// ThreadExited implements sentry.Hooks: a thread's TID is the
// allocator's alone, the Space does not model threads. Its children pass
// to the thread group (Linux reparents them to a live sibling thread),
// and those that asked for a parent-death signal get it, as in Linux,
// where the death of the creating thread is what fires it.
func (k *Kernel) ThreadExited(tid, tgid int) {
	k.alloc.Free(tid)
	for _, child := range k.creators.children(tid) {
		k.creators.set(child, tgid)
		if sig, err := k.space.Pdeathsig(child); err == nil && sig != 0 {
			k.signalAs(child, sig, siUser, tgid, 0)
		}
	}
}

// Exited implements sentry.Hooks.
func (k *Kernel) Exited(tgid int, status unix.WaitStatus, ru *unix.Rusage) {
	delete(k.pidfds, tgid) // its fd table is gone
	eff, err := k.space.Exit(tgid, pidspace.WaitStatus(status), rusageOf(ru))
	for _, r := range eff.Reparented {
		k.creators.drop(r.PID) // no longer a child of this process's threads
	}
	if err != nil {
		k.log.Debug("record exit", "pid", tgid, "err", err)
	}
	if err := k.space.KernelGone(tgid); err != nil {
		// Not a process the Space knew (a helper): its PID is ours.
		k.alloc.Free(tgid)
	}
	k.apply(eff)
	k.checkIdle()
}

// Stopped implements sentry.Hooks.
func (k *Kernel) Stopped(tgid, sig int) {
	eff, err := k.space.Stopped(tgid, sig)
	if err != nil {
		k.log.Debug("record stop", "pid", tgid, "err", err)
	}
	k.apply(eff)
}

// JobStops implements sentry.Hooks: POSIX discards terminal stop
// signals sent to an orphaned process group.
func (k *Kernel) JobStops(tgid int) bool {
	pgid, err := k.space.Getpgid(tgid)
	return err == nil && !k.space.OrphanedPgrp(pgid)
}

// Continued implements sentry.Hooks.
func (k *Kernel) Continued(tgid int) {
	eff, err := k.space.Continued(tgid)
	if err != nil {
		k.log.Debug("record continue", "pid", tgid, "err", err)
	}
	k.apply(eff)
}

const (
	siUser   = 0    // SI_USER
	siKernel = 0x80 // SI_KERNEL
)

// apply carries out effects in the kernel's order.
func (k *Kernel) apply(eff pidspace.Effects) {
	for _, n := range eff.Notify {
		if n.Parent.Virtual {
			continue // launchers learn through their wait (Retry)
		}
		si := sentry.NewChildSigInfo(n.Info.PID, n.Info.UID, n.Info.Code, n.Info.Status)
		si.SetChildTimes(clockTicks(n.Info.Utime), clockTicks(n.Info.Stime))
		k.signal(n.Parent.PID, n.Signal, &si)
	}
	for _, d := range eff.DeathSignals {
		k.signalAs(d.Target.PID, d.Signal, siUser, d.Sender, 0)
	}
	for _, g := range eff.OrphanedGroups {
		for _, sig := range []unix.Signal{unix.SIGHUP, unix.SIGCONT} {
			for _, m := range g.Members {
				k.signalAs(m.PID, int(sig), siKernel, 0, 0)
			}
		}
	}
	for _, pid := range eff.Reaped {
		k.creators.drop(pid)
	}
	for _, pid := range eff.Retry {
		k.retryWaits(pid)
	}
}

// signalAs delivers sig to pid as sent with si_code code by process from
// (0: the kernel) of real uid uid.
func (k *Kernel) signalAs(pid, sig, code, from int, uid uint32) {
	si := sentry.NewSigInfo(sig, code, from, uid)
	k.signal(pid, sig, &si)
}

// signal delivers sig with info to a process of this node.
func (k *Kernel) signal(pid, sig int, info *sentry.SigInfo) {
	if err := k.s.Signal(pid, sig, info); err != nil {
		k.log.Debug("deliver signal", "pid", pid, "sig", sig, "err", err)
	}
}
