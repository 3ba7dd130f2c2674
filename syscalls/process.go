package syscalls

import (
	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// cloneRequest is what the clone handler remembers of the caller's ask.
type cloneRequest struct {
	exitSignal int
	parent     bool // the caller asked for CLONE_PARENT itself
}

// clone handles clone, fork and vfork. Every new process is made a kernel
// child of herd-init (CLONE_PARENT), so the kernel tree stays flat and the
// POSIX tree lives in pidspace; CLONE_UNTRACED is stripped so nothing
// escapes tracing; and the child gets the PID the allocator picks.
func (k *Kernel) clone(t *sentry.Task) sentry.Action {
	var flags uint64
	switch t.Sysno() {
	case unix.SYS_FORK:
		flags = uint64(unix.SIGCHLD)
	case unix.SYS_VFORK:
		flags = unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD)
	default:
		flags = uint64(t.Arg(0))
	}
	thread := flags&unix.CLONE_THREAD != 0
	req := &cloneRequest{exitSignal: int(flags & 0xff), parent: flags&unix.CLONE_PARENT != 0}
	rewritten := flags &^ unix.CLONE_UNTRACED
	if !thread {
		rewritten |= unix.CLONE_PARENT
	}
	if t.Sysno() != unix.SYS_CLONE {
		// fork and vfork take no flags: run the equivalent clone.
		r := t.Regs()
		r.Orig_rax = unix.SYS_CLONE
		r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8 = rewritten, 0, 0, 0, 0
		t.MarkRegsDirty()
	} else if rewritten != flags {
		t.SetArg(0, uintptr(rewritten))
	}
	return t.Clone(&sentry.CloneOp{
		Thread:   thread,
		Flags:    flags,
		AllocPID: k.alloc.Alloc,
		Failed:   func(pid int, _ unix.Errno) { k.alloc.Free(pid) },
		Value:    req,
	})
}

func (k *Kernel) getppid(t *sentry.Task) sentry.Action {
	ppid, err := k.space.Getppid(caller(t))
	if err != nil {
		return sentry.Errno(errno(err))
	}
	return sentry.Return(int64(ppid))
}

// prctl options herd emulates; the filter traps only these.
const (
	prSetPdeathsig      = 1
	prGetPdeathsig      = 2
	prSetChildSubreaper = 36
	prGetChildSubreaper = 37
)

// prctl emulates the options that concern the POSIX tree: the kernel's
// own would act on the flat kernel tree, where herd-init is every parent.
func (k *Kernel) prctl(t *sentry.Task) sentry.Action {
	pid := caller(t)
	switch int(t.Arg(0)) {
	case prSetPdeathsig:
		sig := int(t.Arg(1))
		if sig < 0 || sig > 64 {
			return sentry.Errno(unix.EINVAL)
		}
		return sentry.Result(0, k.space.SetPdeathsig(pid, sig))
	case prGetPdeathsig:
		sig, err := k.space.Pdeathsig(pid)
		if err != nil {
			return sentry.Errno(errno(err))
		}
		if err := t.WriteInt32(t.Arg(1), int32(sig)); err != nil {
			return sentry.Errno(unix.EFAULT)
		}
		return sentry.Return(0)
	case prSetChildSubreaper:
		return sentry.Result(0, k.space.SetSubreaper(pid, t.Arg(1) != 0))
	case prGetChildSubreaper:
		on, err := k.space.Subreaper(pid)
		if err != nil {
			return sentry.Errno(errno(err))
		}
		v := int32(0)
		if on {
			v = 1
		}
		if err := t.WriteInt32(t.Arg(1), v); err != nil {
			return sentry.Errno(unix.EFAULT)
		}
		return sentry.Return(0)
	}
	return sentry.Native()
}

// kernelSigaction is the kernel's struct sigaction on x86_64.
type kernelSigaction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

const (
	sigIgn       = 1
	saNoCldStop  = 1
	saNoCldWait  = 2
	sigchldSigno = int(unix.SIGCHLD)
)

// rtSigaction watches SIGCHLD's disposition (the filter traps no other
// signal): it decides auto-reaping and stop notifications in pidspace.
// The call itself runs natively.
func (k *Kernel) rtSigaction(t *sentry.Task) sentry.Action {
	if int(t.Arg(0)) != sigchldSigno || t.Arg(1) == 0 {
		return sentry.Native()
	}
	var act kernelSigaction
	if err := sentry.ReadStruct(t, t.Arg(1), &act); err != nil {
		return sentry.Native() // the kernel answers EFAULT itself
	}
	return sentry.NativeThen(func(t *sentry.Task, ret int64) {
		if ret != 0 {
			return
		}
		k.space.SetSigchldAction(caller(t), pidspace.SigchldAction{
			Ignored:   act.Handler == sigIgn,
			NoCldStop: act.Flags&saNoCldStop != 0,
			NoCldWait: act.Flags&saNoCldWait != 0,
		})
	})
}

// setCreds covers the set*id calls: they run natively (the kernel is the
// authority on credentials), then pidspace learns the result, which
// decides who may signal whom and the si_uid children report.
func (k *Kernel) setCreds(t *sentry.Task) sentry.Action {
	return sentry.NativeThen(func(t *sentry.Task, ret int64) {
		if ret == 0 {
			k.refreshCreds(t.TGID, t.TID)
		}
	})
}

// refreshCreds copies the kernel's credentials of task tid into pidspace.
func (k *Kernel) refreshCreds(pid, tid int) {
	if st, err := sentry.ReadProcStatus(tid); err == nil {
		k.recordCreds(pid, st)
	}
}

// recordCreds stores the real, effective and saved ids of a /proc status
// as pid's credentials.
func (k *Kernel) recordCreds(pid int, st sentry.ProcStatus) {
	uid, err := st.IDs("Uid")
	if err != nil {
		return
	}
	gid, err := st.IDs("Gid")
	if err != nil {
		return
	}
	c := pidspace.Creds{RUID: uid[0], EUID: uid[1], SUID: uid[2], RGID: gid[0], EGID: gid[1], SGID: gid[2]}
	if err := k.space.SetCreds(pid, c); err != nil {
		k.log.Debug("record creds", "pid", pid, "err", err)
	}
}
