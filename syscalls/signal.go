package syscalls

import (
	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// herdInitMaxTID bounds the PIDs herd-init's own threads take (the
// allocator hands out cluster PIDs from pidspace.FirstPID up). No
// sandboxed process may signal or touch them.
const herdInitMaxTID = pidspace.FirstPID - 1

// kill routes kill(pid, sig) through pidspace: which processes, with
// Linux's permission rules, zombies included (they exist for kill but
// receive nothing). One live local target is signalled by the kernel
// itself, so siginfo and delivery order are exactly Linux's; several are
// signalled by herd-init with the sender's siginfo.
func (k *Kernel) kill(t *sentry.Task) sentry.Action {
	pid, sig := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	if th := k.s.Task(pid); th != nil && !th.IsLeader() {
		// kill() of a thread's TID signals its whole process, as in
		// Linux; pidspace knows processes only.
		pid = th.TGID
	}
	targets, err := k.space.SignalTargets(caller(t), pid, sig)
	if err != nil {
		return sentry.Errno(errno(err))
	}
	if pid > 0 && len(targets) == 1 && k.deliverable(targets[0]) {
		// The kernel gives the same answer (and siginfo) for a live
		// local process, without the register write a skip costs.
		return sentry.Native()
	}
	if sig == 0 || len(targets) == 0 {
		return sentry.Return(0)
	}
	k.sendFrom(t, targets, sig)
	return sentry.Return(0)
}

// deliverable reports whether the kernel can signal target as is: a live
// process of this node, not herd-init.
func (k *Kernel) deliverable(tg pidspace.Target) bool {
	return !tg.Virtual && tg.PID > herdInitMaxTID && tg.Node == k.node
}

// sendFrom delivers sig to targets as if t's process sent it.
func (k *Kernel) sendFrom(t *sentry.Task, targets []pidspace.Target, sig int) {
	var uid uint32
	if p, ok := k.space.Lookup(caller(t)); ok {
		uid = p.Creds.RUID
	}
	for _, tg := range targets {
		if !k.deliverable(tg) {
			continue // herd-init ignores signals; launchers are outside
		}
		k.signalAs(tg.PID, sig, siUser, caller(t), uid)
	}
}

// threadSignal covers tkill, tgkill and rt_tgsigqueueinfo: the target
// thread must be a sandboxed task; the kernel then delivers it natively.
func (k *Kernel) threadSignal(t *sentry.Task) sentry.Action {
	var tgid, tid, sig int
	switch t.Sysno() {
	case unix.SYS_TKILL:
		tgid, tid, sig = -1, int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	default: // tgkill, rt_tgsigqueueinfo
		tgid, tid, sig = int(int32(t.Arg(0))), int(int32(t.Arg(1))), int(int32(t.Arg(2)))
	}
	if tid <= 0 || (t.Sysno() != unix.SYS_TKILL && tgid <= 0) {
		return sentry.Errno(unix.EINVAL)
	}
	if sig < 0 || sig > 64 {
		return sentry.Errno(unix.EINVAL)
	}
	target := k.s.Task(tid)
	if target == nil || (tgid > 0 && target.TGID != tgid) {
		if tid == 1 && (tgid == 1 || tgid == -1) {
			return sentry.Return(0) // init: exists, ignores the signal
		}
		return sentry.Errno(unix.ESRCH)
	}
	if _, err := k.space.SignalTargets(caller(t), target.TGID, 0); err != nil {
		return sentry.Errno(errno(err))
	}
	return sentry.Native()
}

// rtSigqueueinfo(tgid, sig, info): a process-directed signal with a
// caller-chosen siginfo; the kernel checks si_code itself.
func (k *Kernel) rtSigqueueinfo(t *sentry.Task) sentry.Action {
	pid, sig := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	if pid <= 0 {
		return sentry.Errno(unix.ESRCH)
	}
	targets, err := k.space.SignalTargets(caller(t), pid, sig)
	if err != nil {
		return sentry.Errno(errno(err))
	}
	if len(targets) == 0 || !k.deliverable(targets[0]) {
		return sentry.Return(0)
	}
	return sentry.Native()
}

// outsideSandbox guards process_vm_readv/writev: herd-init's
// threads are outside the sandbox even though they share its namespace.
func (k *Kernel) outsideSandbox(t *sentry.Task) sentry.Action {
	if pid := int(int32(t.Arg(0))); pid > 0 && pid <= herdInitMaxTID {
		return sentry.Errno(unix.ESRCH)
	}
	return sentry.Native()
}

// ptraceDenied: a sandboxed process may not trace; the sentry is the
// only tracer, and a second one would detach interception.
func (k *Kernel) ptraceDenied(t *sentry.Task) sentry.Action {
	return sentry.Errno(unix.EPERM)
}
