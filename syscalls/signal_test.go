package syscalls

import (
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
