package syscalls

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/pidspace"
)

// herdInitMaxTID bounds the PIDs herd-init's own threads take (the
// allocator hands out cluster PIDs from pidspace.FirstPID up). No
// sandboxed process may signal or touch them.
const herdInitMaxTID = pidspace.FirstPID - 1

// sigArg decodes a signal number argument: (sig, true) if it is 0 (the
// existence check) or a valid signal.
func sigArg(v uintptr) (int, bool) {
	sig := int(int32(v))
	return sig, sig >= 0 && sig <= linux.SignalMaximum
}

// kill routes kill(pid, sig) through the process model: which processes,
// with Linux's permission rules, zombies included (they exist for kill
// but receive nothing). One live local target is signalled by the kernel
// itself, so siginfo and delivery order are exactly Linux's; others are
// signalled through the Signaller with the sender's siginfo.
func (k *Kernel) kill(t task) action {
	pid, sig := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	if th := k.tasks.task(pid); th != nil && th.TID() != th.TGID() {
		// kill() of a thread's TID signals its whole process, as in
		// Linux; the process model knows processes only.
		pid = th.TGID()
	}
	targets, err := k.procs.SignalTargets(caller(t), pid, sig)
	if err != nil {
		return fail(errno(err))
	}
	if pid > 0 && len(targets) == 1 && k.native(targets[0]) {
		// The kernel gives the same answer (and siginfo) for a live
		// local process, without the register write a skip costs.
		return native()
	}
	if sig == 0 || len(targets) == 0 {
		return ret(0)
	}
	k.sendFrom(t, targets, sig)
	return ret(0)
}

// receives reports whether target receives signals sent by a process:
// not a launcher (outside the cluster) nor herd-init, which ignores them.
func receives(tg pidspace.Target) bool {
	return !tg.Virtual && tg.PID > herdInitMaxTID
}

// native reports whether the kernel can signal target as is: a process
// that receives signals and runs on this node.
func (k *Kernel) native(tg pidspace.Target) bool {
	return receives(tg) && tg.Node == k.node
}

// sendFrom delivers sig to targets as if t's process sent it.
func (k *Kernel) sendFrom(t task, targets []pidspace.Target, sig int) {
	var uid uint32
	if p, ok := k.procs.Lookup(caller(t)); ok {
		uid = p.Creds.RUID
	}
	for _, tg := range targets {
		if receives(tg) {
			k.signalAs(tg, sig, siUser, caller(t), uid)
		}
	}
}

// tkill(tid, sig)
func (k *Kernel) tkill(t task) action {
	return k.threadSignal(t, -1, int(int32(t.Arg(0))), t.Arg(1))
}

// tgkill(tgid, tid, sig)
func (k *Kernel) tgkill(t task) action {
	tgid := int(int32(t.Arg(0)))
	if tgid <= 0 {
		return fail(unix.EINVAL)
	}
	return k.threadSignal(t, tgid, int(int32(t.Arg(1))), t.Arg(2))
}

// rtTgsigqueueinfo(tgid, tid, sig, info)
func (k *Kernel) rtTgsigqueueinfo(t task) action { return k.tgkill(t) }

// threadSignal decides a thread-directed signal to tid of tgid (-1: any,
// for tkill): the thread must be a sandboxed task the caller may signal;
// the kernel then delivers it natively.
func (k *Kernel) threadSignal(t task, tgid, tid int, sigv uintptr) action {
	if tid <= 0 {
		return fail(unix.EINVAL)
	}
	if _, ok := sigArg(sigv); !ok {
		return fail(unix.EINVAL)
	}
	target := k.tasks.task(tid)
	if target == nil || (tgid > 0 && target.TGID() != tgid) {
		if tid == 1 && (tgid == 1 || tgid == -1) {
			return ret(0) // init: exists, ignores the signal
		}
		return fail(unix.ESRCH)
	}
	if _, err := k.procs.SignalTargets(caller(t), target.TGID(), 0); err != nil {
		return fail(errno(err))
	}
	return native()
}

// rtSigqueueinfo(tgid, sig, info): a process-directed signal with a
// caller-chosen siginfo; the kernel checks si_code itself.
func (k *Kernel) rtSigqueueinfo(t task) action {
	pid, sig := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	if pid <= 0 {
		return fail(unix.ESRCH)
	}
	targets, err := k.procs.SignalTargets(caller(t), pid, sig)
	if err != nil {
		return fail(errno(err))
	}
	if len(targets) == 0 || !k.native(targets[0]) {
		return ret(0)
	}
	return native()
}

// kernelSigaction is the kernel's struct sigaction on x86_64.
type kernelSigaction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

// rtSigaction watches SIGCHLD's disposition (the filter traps no other
// signal): it decides auto-reaping and stop notifications in the process
// model. The call itself runs natively.
func (k *Kernel) rtSigaction(t task) action {
	if int(t.Arg(0)) != int(unix.SIGCHLD) || t.Arg(1) == 0 {
		return native()
	}
	var act kernelSigaction
	if err := readStruct(t, t.Arg(1), &act); err != nil {
		return native() // the kernel answers EFAULT itself
	}
	return nativeThen(func(t task, ret int64) {
		if ret != 0 {
			return
		}
		k.procs.SetSigchldAction(caller(t), pidspace.SigchldAction{
			Ignored:   act.Handler == linux.SIG_IGN,
			NoCldStop: act.Flags&linux.SA_NOCLDSTOP != 0,
			NoCldWait: act.Flags&linux.SA_NOCLDWAIT != 0,
		})
	})
}
