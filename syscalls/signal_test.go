package syscalls

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/pidspace"
)

// kill's decisions for pid, 0, -pgid and -1: who is signalled, by whom,
// and when the kernel is left to do it.
func TestKillTargets(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.fork(5000, 5002)
	r.spawn(6000, 1000)
	r.spawn(7000, 2000) // another user's
	term := uintptr(unix.SIGTERM)

	wantNative(t, "one live local process", call(r.k.kill, p, unix.SYS_KILL, 5001, term))
	if len(r.sig.sent) != 0 {
		t.Fatalf("native kill also sent %+v", r.sig.sent)
	}
	wantReturn(t, "own group", call(r.k.kill, p, unix.SYS_KILL, 0, term), 0)
	if got := r.sig.pids(); !slices.Equal(got, []int{5000, 5001, 5002}) {
		t.Errorf("kill(0) signalled %v", got)
	}
	s := r.sig.sent[0]
	if s.sig != int(unix.SIGTERM) || s.info.Code() != linux.SI_USER || s.info.Pid() != 5000 || s.info.UID() != 1000 {
		t.Errorf("kill(0) siginfo: sig %d code %d pid %d uid %d", s.sig, s.info.Code(), s.info.Pid(), s.info.UID())
	}
	r.sig.sent = nil
	wantReturn(t, "group -6000", call(r.k.kill, p, unix.SYS_KILL, uintptr(^uint(6000-1)), term), 0)
	if got := r.sig.pids(); !slices.Equal(got, []int{6000}) {
		t.Errorf("kill(-6000) signalled %v", got)
	}
	r.sig.sent = nil
	wantReturn(t, "everyone", call(r.k.kill, p, unix.SYS_KILL, uintptr(^uint(0)), term), 0)
	if got := r.sig.pids(); !slices.Equal(got, []int{5001, 5002, 6000}) {
		t.Errorf("kill(-1) signalled %v (not the caller, init or another user)", got)
	}
	r.sig.sent = nil
	wantReturn(t, "existence check of a group", call(r.k.kill, p, unix.SYS_KILL, 0, 0), 0)
	if len(r.sig.sent) != 0 {
		t.Errorf("signal 0 delivered %+v", r.sig.sent)
	}
}

func TestKillErrors(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.spawn(7000, 2000)
	wantErrno(t, "no such pid", call(r.k.kill, p, unix.SYS_KILL, 5999, 9), unix.ESRCH)
	wantErrno(t, "no such group", call(r.k.kill, p, unix.SYS_KILL, uintptr(^uint(5999-1)), 9), unix.ESRCH)
	wantErrno(t, "another user's", call(r.k.kill, p, unix.SYS_KILL, 7000, 9), unix.EPERM)
	wantErrno(t, "another user's group", call(r.k.kill, p, unix.SYS_KILL, uintptr(^uint(7000-1)), 9), unix.EPERM)
	wantErrno(t, "signal 65", call(r.k.kill, p, unix.SYS_KILL, 5000, linux.SignalMaximum+1), unix.EINVAL)
	if len(r.sig.sent) != 0 {
		t.Errorf("failed kills sent %+v", r.sig.sent)
	}
}

// A thread's TID names its process; a process of another node is the
// Signaller's to reach, never the local kernel's.
func TestKillThreadAndRemoteProcess(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.tasks[5005] = &fakeTask{tid: 5005, tgid: 5001}
	wantNative(t, "thread of 5001", call(r.k.kill, p, unix.SYS_KILL, 5005, 9))
	if err := r.space.SetNode(5001, "n2"); err != nil {
		t.Fatal(err)
	}
	wantReturn(t, "process on n2", call(r.k.kill, p, unix.SYS_KILL, 5001, 9), 0)
	if len(r.sig.sent) != 1 || r.sig.sent[0].target != (pidspace.Target{PID: 5001, Node: "n2", Home: "n1"}) {
		t.Errorf("sent %+v, want 5001 on n2", r.sig.sent)
	}
}

// rt_sigqueueinfo to a process the kernel here cannot signal as is (it
// runs on another node, or its exec is being placed there) sends the
// caller's siginfo through the Signaller, checked as the kernel checks
// it for another process. A kill of a process being placed goes through
// the Signaller too, never the kernel's own call.
func TestQueueThroughSignaller(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.fork(5000, 5002)
	if err := r.space.SetNode(5001, "n2"); err != nil {
		t.Fatal(err)
	}
	putSigCode(p, linux.SI_QUEUE)
	wantReturn(t, "sigqueue to n2", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, 10, memBase), 0)
	if len(r.sig.sent) != 1 || r.sig.sent[0].target.Node != "n2" || r.sig.sent[0].info.Code() != linux.SI_QUEUE || r.sig.sent[0].info.Signo() != 10 {
		t.Fatalf("sent %+v, want the caller's SI_QUEUE siginfo for 5001 on n2", r.sig.sent)
	}
	putSigCode(p, linux.SI_KERNEL)
	wantErrno(t, "kernel siginfo to n2", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, 10, memBase), unix.EPERM)
	wantErrno(t, "unreadable siginfo to n2", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, 10, badAddr), unix.EFAULT)

	r.k.placing[5002] = true
	putSigCode(p, linux.SI_QUEUE)
	wantReturn(t, "sigqueue to a process being placed", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5002, 10, memBase), 0)
	wantReturn(t, "kill of a process being placed", call(r.k.kill, p, unix.SYS_KILL, 5002, 15), 0)
	if got := r.sig.pids(); !slices.Equal(got, []int{5001, 5002, 5002}) {
		t.Errorf("signalled %v, want 5001 then 5002 twice, through the Signaller", got)
	}
}

func TestThreadSignals(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.spawn(7000, 2000)
	r.tasks[5003] = &fakeTask{tid: 5003, tgid: 5000}
	wantNative(t, "tgkill own thread", call(r.k.tgkill, p, unix.SYS_TGKILL, 5000, 5003, 10))
	wantNative(t, "tkill own thread", call(r.k.tkill, p, unix.SYS_TKILL, 5003, 10))
	wantNative(t, "rt_tgsigqueueinfo", call(r.k.rtTgsigqueueinfo, p, unix.SYS_RT_TGSIGQUEUEINFO, 5000, 5003, 10, memBase))
	wantErrno(t, "tgkill tgid 0", call(r.k.tgkill, p, unix.SYS_TGKILL, 0, 5003, 10), unix.EINVAL)
	wantErrno(t, "tgkill tgid -1", call(r.k.tgkill, p, unix.SYS_TGKILL, uintptr(^uint(0)), 5003, 10), unix.EINVAL)
	wantErrno(t, "tkill tid 0", call(r.k.tkill, p, unix.SYS_TKILL, 0, 10), unix.EINVAL)
	wantErrno(t, "tkill signal 65", call(r.k.tkill, p, unix.SYS_TKILL, 5003, 65), unix.EINVAL)
	wantErrno(t, "wrong group", call(r.k.tgkill, p, unix.SYS_TGKILL, 7000, 5003, 10), unix.ESRCH)
	wantErrno(t, "no such thread", call(r.k.tkill, p, unix.SYS_TKILL, 5999, 10), unix.ESRCH)
	wantReturn(t, "init", call(r.k.tkill, p, unix.SYS_TKILL, 1, 10), 0)
	wantErrno(t, "another user", call(r.k.tkill, p, unix.SYS_TKILL, 7000, 10), unix.EPERM)
	if err := r.space.AddVirtual(4999, pidspace.Creds{RUID: 1000}, "herd-run"); err != nil {
		t.Fatal(err)
	}
	wantReturn(t, "tgkill of the launcher", call(r.k.tgkill, p, unix.SYS_TGKILL, 4999, 4999, 0), 0)
	wantErrno(t, "tgkill of the launcher, wrong group", call(r.k.tgkill, p, unix.SYS_TGKILL, 5000, 4999, 0), unix.ESRCH)
	if len(r.sig.sent) != 0 {
		t.Errorf("signals to the launcher were delivered: %+v", r.sig.sent)
	}
}

func TestRtSigqueueinfo(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.spawn(7000, 2000)
	wantNative(t, "own process", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5000, 10, memBase))
	wantErrno(t, "pid 0", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 0, 10, memBase), unix.ESRCH)
	wantErrno(t, "another user", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 7000, 10, memBase), unix.EPERM)
}

func TestRtSigactionRecordsSigchld(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	act := kernelSigaction{Handler: linux.SIG_IGN, Flags: linux.SA_NOCLDSTOP}
	if err := writeStruct(p, memBase, &act); err != nil {
		t.Fatal(err)
	}
	wantNative(t, "SIGINT", call(r.k.rtSigaction, p, unix.SYS_RT_SIGACTION, uintptr(unix.SIGINT), memBase))
	wantNative(t, "bad pointer: the kernel's EFAULT", call(r.k.rtSigaction, p, unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), badAddr))
	a := call(r.k.rtSigaction, p, unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), memBase)
	finish(t, a, p, -int64(unix.EINVAL))
	if pr, _ := r.space.Lookup(5000); pr.Sigchld != (pidspace.SigchldAction{}) {
		t.Errorf("failed sigaction recorded %+v", pr.Sigchld)
	}
	finish(t, a, p, 0)
	if pr, _ := r.space.Lookup(5000); pr.Sigchld != (pidspace.SigchldAction{Ignored: true, NoCldStop: true}) {
		t.Errorf("recorded %+v", pr.Sigchld)
	}
}

// The hooks' effects go through the Signaller too: a parent-death signal
// when the creating thread exits.
func TestThreadExitSendsPdeathsig(t *testing.T) {
	r := newRig(t)
	r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.k.creators.set(5001, 5003) // thread 5003 made it
	if err := r.space.SetPdeathsig(5001, int(unix.SIGUSR1)); err != nil {
		t.Fatal(err)
	}
	r.k.ThreadExited(5003, 5000)
	if len(r.sig.sent) != 1 || r.sig.sent[0].target.PID != 5001 || r.sig.sent[0].sig != int(unix.SIGUSR1) || r.sig.sent[0].info.Pid() != 5000 {
		t.Fatalf("sent %+v, want SIGUSR1 to 5001 from 5000", r.sig.sent)
	}
	if r.k.creators.of[5001] != 5000 {
		t.Errorf("child's creator now %d, want the group 5000", r.k.creators.of[5001])
	}
}

// putSigCode writes a siginfo with si_code code at memBase of f.
func putSigCode(f *fakeTask, code int32) {
	clear(f.mem[:128])
	binary.NativeEndian.PutUint32(f.mem[8:], uint32(code))
}

// A signal the target would discard were it not traced is not
// generated: the call returns 0 without the kernel (which would queue it
// and interrupt the traced target). The test is the leader's for a
// process-directed call, the thread's for a thread-directed one.
func TestIgnoredSignalsAreDiscarded(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	c := r.fork(5000, 5001)
	r.tasks[5005] = &fakeTask{tid: 5005, tgid: 5001}
	c.discards = map[int]bool{int(unix.SIGCHLD): true}
	chld, usr1 := uintptr(unix.SIGCHLD), uintptr(unix.SIGUSR1)

	wantReturn(t, "kill of an ignored signal", call(r.k.kill, p, unix.SYS_KILL, 5001, chld), 0)
	wantReturn(t, "kill of a thread's TID, leader ignores", call(r.k.kill, p, unix.SYS_KILL, 5005, chld), 0)
	wantNative(t, "kill of a signal not ignored", call(r.k.kill, p, unix.SYS_KILL, 5001, usr1))
	wantReturn(t, "kill(pid, 0), answered by the model", call(r.k.kill, p, unix.SYS_KILL, 5001, 0), 0)
	wantErrno(t, "ignored, but another user's", call(r.k.kill, r.spawn(7000, 2000), unix.SYS_KILL, 5001, chld), unix.EPERM)

	putSigCode(p, linux.SI_QUEUE)
	wantReturn(t, "sigqueue of an ignored signal", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, chld, memBase), 0)
	putSigCode(p, linux.SI_USER)
	wantNative(t, "siginfo the kernel refuses", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, chld, memBase))
	wantNative(t, "unreadable siginfo", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, chld, badAddr))

	// Thread-directed: the thread's own view, not the leader's.
	wantNative(t, "tgkill of a thread that does not ignore it", call(r.k.tgkill, p, unix.SYS_TGKILL, 5001, 5005, chld))
	wantReturn(t, "tgkill of the leader that ignores it", call(r.k.tgkill, p, unix.SYS_TGKILL, 5001, 5001, chld), 0)
	wantReturn(t, "tkill of the leader that ignores it", call(r.k.tkill, p, unix.SYS_TKILL, 5001, chld), 0)
	putSigCode(p, linux.SI_QUEUE)
	wantReturn(t, "rt_tgsigqueueinfo, ignored", call(r.k.rtTgsigqueueinfo, p, unix.SYS_RT_TGSIGQUEUEINFO, 5001, 5001, chld, memBase), 0)
	putSigCode(p, linux.SI_TKILL)
	wantNative(t, "rt_tgsigqueueinfo posing as tkill", call(r.k.rtTgsigqueueinfo, p, unix.SYS_RT_TGSIGQUEUEINFO, 5001, 5001, chld, memBase))
	if len(r.sig.sent) != 0 {
		t.Errorf("discarded signals sent %+v", r.sig.sent)
	}
}

// rt_sigqueueinfo and sigqueue at a thread's TID reach its process, as
// kill does; the kernel resolves the TID itself, so the call keeps it.
func TestSigqueueThreadTID(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.tasks[5003] = &fakeTask{tid: 5003, tgid: 5000}
	putSigCode(p, linux.SI_QUEUE)
	a := call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5003, 10, memBase)
	wantNative(t, "own worker thread", a)
	if p.args[0] != 5003 {
		t.Errorf("target rewritten to %d", p.args[0])
	}
	wantReturn(t, "probe of own worker thread", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5003, 0, memBase), 0)
	c := r.fork(5000, 5001)
	wantNative(t, "child to its parent's worker", call(r.k.rtSigqueueinfo, c, unix.SYS_RT_SIGQUEUEINFO, 5003, 10, memBase))
	wantErrno(t, "unknown TID", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5004, 10, memBase), unix.ESRCH)
	if got := r.k.processOf(5003); got != 5000 {
		t.Errorf("processOf(5003) = %d", got)
	}
	if got := r.k.processOf(-5003); got != -5003 {
		t.Errorf("processOf(-5003) = %d, want a group left alone", got)
	}
}

// A kill decided while the child lived may reach the kernel after
// herd-init reaped it: the kernel says ESRCH, but the zombie is still a
// target until its parent waits, so the exit stop answers 0.
func TestKillExitingChild(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.tasks[5005] = &fakeTask{tid: 5005, tgid: 5001}
	esrch := -int64(unix.ESRCH)
	kill := call(r.k.kill, p, unix.SYS_KILL, 5001, uintptr(unix.SIGWINCH))
	killTID := call(r.k.kill, p, unix.SYS_KILL, 5005, uintptr(unix.SIGWINCH))
	putSigCode(p, linux.SI_QUEUE)
	queue := call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, 10, memBase)
	r.exit(5001, 0, nil)

	for name, a := range map[string]action{"kill": kill, "rt_sigqueueinfo": queue} {
		p.returned = nil
		finish(t, a, p, esrch)
		if p.returned == nil || *p.returned != 0 {
			t.Errorf("%s of a zombie: result %v, want 0", name, p.returned)
		}
	}
	p.returned = nil
	finish(t, killTID, p, esrch)
	if p.returned != nil {
		t.Errorf("kill of an exited thread's TID became %d, want ESRCH", *p.returned)
	}
	p.returned = nil
	finish(t, kill, p, -int64(unix.EPERM))
	if p.returned != nil {
		t.Errorf("another error became %d", *p.returned)
	}
	if _, err := r.space.Wait(5000, pidspace.Wait4(5001, 0)); err != nil {
		t.Fatal(err)
	}
	finish(t, kill, p, esrch)
	if p.returned != nil {
		t.Errorf("kill of a reaped child became %d, want ESRCH", *p.returned)
	}
}

// pidfd_send_signal to a zombie whose kernel task herd-init reaped
// answers as Linux's zombie, by the pidfd's remembered target; a live
// target that ignores the signal is not signalled.
func TestPidfdSendSignal(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	c := r.fork(5000, 5001)
	r.fork(5000, 5002)
	c.discards = map[int]bool{int(unix.SIGURG): true}
	p.pidfd = map[int]int{3: 5001, 4: 5002}
	r.k.pidfds.remember(5000, 3, 5001)
	r.k.pidfds.remember(5000, 4, 5002)
	urg, winch := uintptr(unix.SIGURG), uintptr(unix.SIGWINCH)

	wantReturn(t, "ignored by a live target", call(r.k.pidfdSendSignal, p, unix.SYS_PIDFD_SEND_SIGNAL, 3, urg, 0, 0), 0)
	wantNative(t, "not ignored", call(r.k.pidfdSendSignal, p, unix.SYS_PIDFD_SEND_SIGNAL, 3, winch, 0, 0))
	wantNative(t, "with flags: the kernel's", call(r.k.pidfdSendSignal, p, unix.SYS_PIDFD_SEND_SIGNAL, 3, urg, 0, 1))

	live := call(r.k.pidfdSendSignal, p, unix.SYS_PIDFD_SEND_SIGNAL, 3, winch, 0, 0)
	finish(t, live, p, -int64(unix.ESRCH))
	if p.returned != nil {
		t.Errorf("ESRCH of a pidfd whose process the kernel still has became %d", *p.returned)
	}
	a := call(r.k.pidfdSendSignal, p, unix.SYS_PIDFD_SEND_SIGNAL, 4, winch, 0, 0)
	r.exit(5002, 0, nil)
	p.pidfdErr = map[int]error{4: unix.ECHILD} // reaped: fdinfo says Pid: -1
	finish(t, a, p, -int64(unix.ESRCH))
	if p.returned == nil || *p.returned != 0 {
		t.Errorf("zombie: result %v, want 0", p.returned)
	}
	for _, s := range r.sig.sent {
		if s.sig != int(unix.SIGCHLD) {
			t.Errorf("sent %+v", s) // only 5002's exit's SIGCHLD
		}
	}
	if _, err := r.space.Wait(5000, pidspace.Wait4(5002, 0)); err != nil {
		t.Fatal(err)
	}
	p.returned = nil
	finish(t, a, p, -int64(unix.ESRCH))
	if p.returned != nil {
		t.Errorf("reaped zombie: result %d, want ESRCH", *p.returned)
	}
}

// A process signalling itself cannot have exited meanwhile: its kill runs
// natively with no exit stop; another process's keeps the zombie look.
// (Signal 0 never reaches the kernel: the model answers the probe.)
func TestKillSelfNeedsNoExitStop(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	if a := call(r.k.kill, p, unix.SYS_KILL, 5000, uintptr(unix.SIGUSR1)); a.kind != actNative || a.after != nil {
		t.Errorf("kill(self, SIGUSR1): got %s, want native without an exit function", a)
	}
	if a := call(r.k.kill, p, unix.SYS_KILL, 5001, uintptr(unix.SIGUSR1)); a.kind != actNative || a.after == nil {
		t.Errorf("kill(child, SIGUSR1): got %s, want native with the zombie look at its exit", a)
	}
	// A siginfo the kernel checks itself (never discarded here) changes
	// nothing about that.
	putSigCode(p, linux.SI_USER)
	if a := call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5000, uintptr(unix.SIGUSR1), memBase); a.kind != actNative || a.after != nil {
		t.Errorf("rt_sigqueueinfo(self, SI_USER): got %s, want native without an exit function", a)
	}
	if a := call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 5001, uintptr(unix.SIGUSR1), memBase); a.kind != actNative || a.after == nil {
		t.Errorf("rt_sigqueueinfo(child, SI_USER): got %s, want native with the zombie look at its exit", a)
	}
}
