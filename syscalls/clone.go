package syscalls

import (
	"golang.org/x/sys/unix"

	"herd/sentry"
)

// cloneRequest is what the clone handler remembers of the caller's ask.
type cloneRequest struct {
	exitSignal int
	parent     bool // the caller asked for CLONE_PARENT itself
	// delayed are the group signals that crossed the fork (groupsig.go).
	delayed []delayedSignal
}

// cloneFlags are the flags of the clone, fork or vfork t is stopped in.
func cloneFlags(t task) uint64 {
	switch t.Sysno() {
	case unix.SYS_FORK:
		return uint64(unix.SIGCHLD)
	case unix.SYS_VFORK:
		return unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD)
	}
	return uint64(t.Arg(0))
}

// clone handles clone, and fork and vfork as the equivalent clone. Every
// new process is made a kernel child of herd-init (CLONE_PARENT), so the
// kernel tree stays flat and the POSIX tree lives in the process model;
// CLONE_UNTRACED is stripped so nothing escapes tracing; and the child
// gets the PID the allocator picks.
func (k *Kernel) clone(t task) action {
	flags := cloneFlags(t)
	thread := flags&unix.CLONE_THREAD != 0
	req := &cloneRequest{exitSignal: int(flags & unix.CSIGNAL), parent: flags&unix.CLONE_PARENT != 0}
	rewritten := flags &^ unix.CLONE_UNTRACED
	if !thread {
		k.forks.start(caller(t), t.TID(), req)
		rewritten |= unix.CLONE_PARENT
		if node := k.place.PlaceFork(caller(t)); node != k.node {
			k.log.Debug("fork placed on another node; runs here", "parent", caller(t), "node", node)
		}
	}
	if t.Sysno() != unix.SYS_CLONE {
		// fork and vfork take no flags: run the equivalent clone.
		t.SetSysno(unix.SYS_CLONE)
		t.SetArg(0, uintptr(rewritten))
		for i := 1; i < 5; i++ {
			t.SetArg(i, 0)
		}
	} else if rewritten != flags {
		t.SetArg(0, uintptr(rewritten))
	}
	return t.Clone(&sentry.CloneOp{
		Thread:   thread,
		Flags:    flags,
		AllocPID: k.alloc.Alloc,
		Failed: func(pid int, _ unix.Errno) {
			k.alloc.Free(pid)
			if !thread {
				k.forks.end(caller(t), t.TID())
			}
		},
		Taken: k.pidTaken,
		Value: req,
	})
}

// pidTaken says whether the process model holds pid: a zombie whose kernel
// task herd-init has reaped, or a launcher's virtual PID. The kernel does
// not know them, so it may give one to a new process when a thread of
// herd-init took the PID the allocator chose.
func (k *Kernel) pidTaken(pid int) bool {
	_, ok := k.procs.Lookup(pid)
	return ok
}
