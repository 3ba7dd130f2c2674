package syscalls

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/pidspace"
	"herd/sentry"
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
	if pid <= 0 && k.lane != nil {
		return k.killPeers(t, pid, sig)
	}
	proc := k.processOf(pid)
	targets, err := k.procs.SignalTargets(caller(t), proc, sig)
	if errors.Is(err, unix.ESRCH) && pid > 0 {
		if a, ok := k.killElsewhere(t, pid, sig, nil); ok {
			return a
		}
	}
	if err != nil {
		return fail(errno(err))
	}
	if pid > 0 && len(targets) == 1 && k.native(targets[0]) && !k.placing[targets[0].PID] {
		// The kernel gives the same answer (and siginfo) for a live
		// local process, without the register write a skip costs.
		return k.nativeSignal(t, pid, proc, sig, true)
	}
	if sig == 0 || len(targets) == 0 {
		return ret(0)
	}
	k.sendFrom(t, targets, sig)
	return ret(0)
}

// killPeers is kill(0), kill(-pgid) or kill(-1) when other nodes may
// hold targets: the Space asks them off the tracer thread while the
// caller is parked, and the signals go out on the tracer thread. Linux's
// kill is never interrupted: a signal that comes while the caller waits
// runs its handler and the call is made again (the look-up has no
// effect; the signals are sent only by the then, after it).
func (k *Kernel) killPeers(t task, pid, sig int) action {
	sender := caller(t)
	return asyncRestart(func(ctx context.Context) (func(t task) int64, error) {
		targets, err := k.procs.SignalTargets(sender, pid, sig)
		if err != nil {
			return nil, err
		}
		return func(t task) int64 {
			if sig != 0 {
				k.sendFrom(t, targets, sig)
			}
			return 0
		}, nil
	})
}

// killElsewhere sends a process-directed signal to pid, which this
// node's Space does not hold, to the node that does (RemoteKills), which
// decides and delivers it; the call waits parked for its answer. info
// is the caller's siginfo (rt_sigqueueinfo), nil for kill's. ok is false
// when no other node holds pid.
func (k *Kernel) killElsewhere(t task, pid, sig int, info *sentry.SigInfo) (a action, ok bool) {
	if k.remote == nil {
		return action{}, false
	}
	node := k.remote.KillHolder(pid)
	if node == "" || node == k.node {
		return action{}, false
	}
	from, found := k.procs.Lookup(caller(t))
	if !found {
		return fail(unix.ESRCH), true
	}
	req := KillRequest{Sender: from.PID, SenderSID: from.SID, Creds: from.Creds, PID: pid, Sig: sig}
	if info != nil {
		req.Queued, req.Info = true, *info
	} else {
		req.Info = sentry.NewSigInfo(sig, siUser, from.PID, from.Creds.RUID)
	}
	return asyncThen(func(ctx context.Context) (func(task) int64, error) {
		return nil, k.remote.Kill(ctx, node, req)
	}), true
}

// KillFrom decides and delivers a process-directed signal another node
// sent on behalf of one of its processes (see killElsewhere), with
// Linux's rules: ESRCH if pid is no process here, EINVAL for a bad
// signal, EPERM if the sender may not signal it; a zombie or the probe
// (signal 0) receives nothing. If pid's record is held by another node
// (a stub here, or a PID this node lent), forward names that node and
// the caller asks it instead. Tracer thread.
func (k *Kernel) KillFrom(req KillRequest) (forward string, err error) {
	pid := k.processOf(req.PID)
	p, ok := k.procs.Lookup(pid)
	if !ok || p.PID <= herdInitMaxTID {
		if k.Moved != nil {
			if node, ok := k.Moved(pid); ok {
				return node, nil
			}
		}
		return "", unix.ESRCH
	}
	if p.Stub {
		return p.Home, nil
	}
	if err := mayKillFrom(req, p); err != nil {
		return "", err
	}
	tg := pidspace.Target{PID: p.PID, Node: p.Node, Virtual: p.Virtual, Home: p.Home}
	if req.Sig == 0 || p.State == pidspace.Zombie || !receives(tg) {
		return "", nil
	}
	info := req.Info
	info.SetSigno(req.Sig)
	if err := k.signals.Signal(tg, req.Sig, &info); err != nil && !errors.Is(err, unix.ESRCH) {
		// ESRCH: the process exited after the look-up; a zombie
		// takes the signal and ignores it.
		return "", err
	}
	return "", nil
}

// mayKillFrom is the kernel's check_kill_permission for a sender on
// another node (pidspace decides it for senders homed here): a valid
// signal, and the sender has euid 0, or its real or effective uid is the
// target's real or saved uid, or the signal is SIGCONT within its
// session. A queued siginfo must claim to come from user space.
func mayKillFrom(req KillRequest, to pidspace.Process) error {
	if req.Sig < 0 || req.Sig > linux.SignalMaximum {
		return unix.EINVAL
	}
	if req.Queued && (req.Info.Code() >= 0 || req.Info.Code() == linux.SI_TKILL) {
		return unix.EPERM
	}
	f, t := req.Creds, to.Creds
	if f.EUID == 0 || f.EUID == t.SUID || f.EUID == t.RUID || f.RUID == t.SUID || f.RUID == t.RUID {
		return nil
	}
	if req.Sig == int(unix.SIGCONT) && req.SenderSID == to.SID {
		return nil
	}
	return unix.EPERM
}

// processOf is the process a process-directed signal aimed at pid
// reaches: Linux resolves any TID to its thread group (kill_pid_info
// finds the task, group_send_sig_info signals its group), so a local
// thread's TID names its process; any other pid is returned unchanged.
// The process model knows processes only. kill, rt_sigqueueinfo and
// pidfd_send_signal decide through it.
func (k *Kernel) processOf(pid int) int {
	if pid > 0 && k.tasks != nil {
		if th := k.tasks.task(pid); th != nil {
			return th.TGID()
		}
	}
	return pid
}

// nativeSignal lets the kernel run a process-directed call that sends
// sig to proc, the one live local process the caller's pid names
// (pid itself or a thread of it), with two corrections:
//   - a signal the kernel would discard at generation for an untraced
//     process is not generated at all (the call returns 0): traced, the
//     process would get it queued and an epoll_wait or sigtimedwait
//     would end with EINTR (sentry.Task.Discards, on the leader, which
//     is the task the kernel tests). Only if discardable: a siginfo
//     the kernel checks itself is never discarded here;
//   - ESRCH from the kernel while the process model holds pid as a
//     zombie becomes 0: the process exited after the decision and
//     herd-init reaped its kernel task, but POSIX-wise the zombie is a
//     valid target until its parent waits. By the caller's exit stop
//     the tracer has recorded the exit, so the model is up to date.
//     A caller signalling its own process needs no such look: it cannot
//     have exited while it makes the call, so that common case (raise,
//     kill(getpid(), 0)) costs no exit stop.
func (k *Kernel) nativeSignal(t task, pid, proc, sig int, discardable bool) action {
	if discardable && k.discards(proc, sig) {
		return ret(0)
	}
	if proc == caller(t) {
		return native()
	}
	return nativeThen(func(t task, r int64) { k.zombieTarget(t, pid, r) })
}

// discards reports whether the kernel would discard sig sent to process
// proc, tested on its leader (the task whose TID is proc).
func (k *Kernel) discards(proc, sig int) bool {
	leader := k.tasks.task(proc)
	return leader != nil && leader.Discards(sig)
}

// zombieTarget turns the kernel's ESRCH (r) for a signal to pid into 0
// when pid is a zombie of the process model.
func (k *Kernel) zombieTarget(t task, pid int, r int64) {
	if r != -int64(unix.ESRCH) {
		return
	}
	if k.zombie(pid) {
		t.SetReturn(0)
	}
}

// zombie reports whether pid is a zombie of the process model, or will
// be once its exit, which the sentry reported and the lane is recording,
// is recorded (peers.go): either way the kernel's task is gone.
func (k *Kernel) zombie(pid int) bool {
	if k.exiting[pid] {
		return true
	}
	p, ok := k.procs.Lookup(pid)
	return ok && p.State == pidspace.Zombie
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
	return k.threadSignal(t, -1, int(int32(t.Arg(0))), t.Arg(1), noInfo)
}

// tgkill(tgid, tid, sig)
func (k *Kernel) tgkill(t task) action { return k.tgSignal(t, noInfo) }

// rtTgsigqueueinfo(tgid, tid, sig, info)
func (k *Kernel) rtTgsigqueueinfo(t task) action { return k.tgSignal(t, 3) }

// noInfo is the info argument of a call without a caller's siginfo.
const noInfo = -1

// tgSignal decides tgkill and rt_tgsigqueueinfo, whose siginfo is
// argument info (noInfo: none).
func (k *Kernel) tgSignal(t task, info int) action {
	tgid := int(int32(t.Arg(0)))
	if tgid <= 0 {
		return fail(unix.EINVAL)
	}
	return k.threadSignal(t, tgid, int(int32(t.Arg(1))), t.Arg(2), info)
}

// threadSignal decides a thread-directed signal to tid of tgid (-1: any,
// for tkill): the thread must be a sandboxed task the caller may signal;
// the kernel then delivers it natively, unless it would discard it at
// generation (see nativeSignal), tested on the thread itself as the
// kernel does. info is the argument holding the caller's siginfo.
func (k *Kernel) threadSignal(t task, tgid, tid int, sigv uintptr, info int) action {
	if tid <= 0 {
		return fail(unix.EINVAL)
	}
	sig, ok := sigArg(sigv)
	if !ok {
		return fail(unix.EINVAL)
	}
	target := k.tasks.task(tid)
	group := 0
	if target != nil {
		group = target.TGID()
	}
	if a, done := k.threadTarget(t, tgid, tid, group); done {
		return a
	}
	if sig != 0 && (info == noInfo || queueInfoAccepted(t, t.Arg(info))) && target.Discards(sig) {
		return ret(0)
	}
	return native()
}

// threadTarget decides whether the caller may signal thread tid of tgid
// (-1: any), whose thread group is group (0: no sandboxed task): done
// with the call's answer when it is not a sandboxed task the caller may
// signal (init and the launcher exist but take nothing).
func (k *Kernel) threadTarget(t task, tgid, tid, group int) (a action, done bool) {
	if group == 0 || (tgid > 0 && group != tgid) {
		if tid == 1 && (tgid == 1 || tgid == -1) {
			return ret(0), true // init: exists, ignores the signal
		}
		if p, ok := k.procs.Lookup(tid); ok && p.Virtual && (tgid == -1 || tgid == tid) {
			// The launcher: its thread exists (its stand-in holds the
			// PID) and, as for kill, what it is sent is not delivered.
			if _, err := k.procs.SignalTargets(caller(t), tid, 0); err != nil {
				return fail(errno(err)), true
			}
			return ret(0), true
		}
		return fail(unix.ESRCH), true
	}
	if _, err := k.procs.SignalTargets(caller(t), group, 0); err != nil {
		return fail(errno(err)), true
	}
	return action{}, false
}

// threadProbe is tkill(tid, 0) (tgid -1) or tgkill(tgid, tid, 0)
// answered through seccomp user notification: the thread's group from
// the sentry's concurrent TID map, then threadSignal's checks; a thread
// the caller may signal answers 0, as the kernel's probe does.
func (k *Kernel) threadProbe(t task, tgid, tid int) action {
	if tid <= 0 {
		return fail(unix.EINVAL)
	}
	group := 0
	if k.s != nil {
		group, _ = k.s.ThreadGroup(tid)
	}
	if a, done := k.threadTarget(t, tgid, tid, group); done {
		return a
	}
	return ret(0)
}

func (k *Kernel) tkillProbe(t task) action { return k.threadProbe(t, -1, int(int32(t.Arg(0)))) }

func (k *Kernel) tgkillProbe(t task) action {
	tgid := int(int32(t.Arg(0)))
	if tgid <= 0 {
		return fail(unix.EINVAL)
	}
	return k.threadProbe(t, tgid, int(int32(t.Arg(1))))
}

// queueInfoAccepted reports whether the kernel surely accepts the
// siginfo at addr that t queues to another process: it is readable and
// its si_code one a process may send (negative and not SI_TKILL). Any
// other siginfo is left to the kernel, which refuses it (EFAULT, EPERM)
// or, sent to the caller itself, checks it further; only an accepted
// one may be discarded without the call.
func queueInfoAccepted(t task, addr uintptr) bool {
	var si linux.SignalInfo
	if err := readStruct(t, addr, &si); err != nil {
		return false
	}
	return si.Code < 0 && si.Code != linux.SI_TKILL
}

// rtSigqueueinfo(pid, sig, info): a process-directed signal with a
// caller-chosen siginfo; the kernel checks si_code itself. A TID names
// its process, as for kill.
func (k *Kernel) rtSigqueueinfo(t task) action {
	pid, sig := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	if pid <= 0 {
		return fail(unix.ESRCH)
	}
	proc := k.processOf(pid)
	targets, err := k.procs.SignalTargets(caller(t), proc, sig)
	if errors.Is(err, unix.ESRCH) {
		var si sentry.SigInfo
		if readStruct(t, t.Arg(2), &si) != nil {
			return fail(unix.EFAULT)
		}
		if a, ok := k.killElsewhere(t, pid, sig, &si); ok {
			return a
		}
	}
	if err != nil {
		return fail(errno(err))
	}
	if len(targets) == 0 || !receives(targets[0]) {
		return ret(0)
	}
	if tg := targets[0]; !k.native(tg) || k.placing[tg.PID] {
		return k.queueThrough(t, tg, sig)
	}
	return k.nativeSignal(t, pid, proc, sig, sig == 0 || queueInfoAccepted(t, t.Arg(2)))
}

// queueThrough is rt_sigqueueinfo to tg, another process that the kernel
// here cannot signal as is (it runs on another node, or its exec is
// being placed there): the caller's siginfo, checked as the kernel
// checks it for another process, is delivered by the Signaller.
func (k *Kernel) queueThrough(t task, tg pidspace.Target, sig int) action {
	var si sentry.SigInfo
	if readStruct(t, t.Arg(2), &si) != nil {
		return fail(unix.EFAULT)
	}
	if si.Code() >= 0 || si.Code() == linux.SI_TKILL {
		return fail(unix.EPERM)
	}
	if sig == 0 {
		return ret(0)
	}
	si.SetSigno(sig)
	k.signal(tg, sig, &si)
	return ret(0)
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
		err := k.procs.SetSigchldAction(caller(t), pidspace.SigchldAction{
			Ignored:   act.Handler == linux.SIG_IGN,
			NoCldStop: act.Flags&linux.SA_NOCLDSTOP != 0,
			NoCldWait: act.Flags&linux.SA_NOCLDWAIT != 0,
		})
		if err == nil {
			k.kinChanged(caller(t))
		}
	})
}

// rtSigtimedwait (sigwaitinfo, sigtimedwait) runs natively. A blocked
// signal it takes is dequeued without a signal-delivery stop, where herd
// writes the siginfo of the signals herd-init sends (a child's SIGCHLD:
// its PID, code and status): so that siginfo is written here, where the
// kernel wrote herd-init's kill, and the next such signal is sent (one
// still queued would keep herd-init from sending another, as a pending
// standard signal would).
func (k *Kernel) rtSigtimedwait(t task) action {
	return nativeThen(func(t task, ret int64) {
		if ret <= 0 || ret > linux.SignalMaximum {
			return
		}
		sig, addr := int(ret), t.Arg(1)
		var got *sentry.SigInfo
		if addr != 0 {
			got = new(sentry.SigInfo)
			if err := t.ReadMem(addr, got[:]); err != nil {
				return
			}
		}
		si, ok := t.TakeInjected(sig, got)
		if ok && addr != 0 {
			t.WriteMem(addr, si[:])
		}
	})
}

// killProbe is kill(pid, 0) answered through seccomp user notification,
// off the tracer thread, on a node without a cluster (no peers, no
// remote holders): whether pid names a process (a thread's TID names its
// process, from the sentry's concurrent TID map) and whether the caller
// may signal it is the process model's answer, as it is for kill's
// signal 0 to several targets (one live local target the kernel checks
// with the same credentials).
func (k *Kernel) killProbe(t task) action {
	pid := int(int32(t.Arg(0)))
	proc := pid
	if pid > 0 && k.s != nil {
		if g, ok := k.s.ThreadGroup(pid); ok {
			proc = g
		}
	}
	_, err := k.procs.SignalTargets(caller(t), proc, 0)
	return result(0, err)
}
