package syscalls

import (
	"context"
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/pidspace"
	"herd/sentry"
)

// staticPeers is a cluster whose other nodes hold the records all.
type staticPeers struct{ all []pidspace.Kin }

func (p staticPeers) Group(pgid int) pidspace.GroupView {
	var v pidspace.GroupView
	for _, k := range p.all {
		if k.PGID == pgid {
			v.Members = append(v.Members, k)
		}
	}
	return v
}

func (p staticPeers) All() []pidspace.Kin { return p.all }

// withPeers gives r's Space the peers p and r's Kernel a lane whose
// posts go to the returned channel, for the test to run as the tracer.
func (r *rig) withPeers(p pidspace.Peers) chan func() {
	posted := make(chan func(), 16)
	r.space.SetPeers(p)
	r.k.lane = &lane{post: func(f func()) { posted <- f }}
	return posted
}

func user(uid uint32) pidspace.Creds {
	return pidspace.Creds{RUID: uid, EUID: uid, SUID: uid, RGID: uid, EGID: uid, SGID: uid}
}

// With peers, kill(-1) goes asynchronous: the targets are resolved off
// the tracer thread (asking the peers), and delivered by the answer on
// the tracer thread: the caller's other processes here and the user's
// records on n2, not another user's.
func TestKillWithPeersIsAsync(t *testing.T) {
	r := newRig(t)
	r.withPeers(staticPeers{all: []pidspace.Kin{
		{PID: 8000, PPID: 1, PGID: 8000, SID: 8000, Home: "n2", Node: "n2", Creds: user(1000)},
		{PID: 8001, PPID: 1, PGID: 8001, SID: 8001, Home: "n2", Node: "n2", Creds: user(2000)},
	}})
	p := r.spawn(5000, 1000)
	r.spawn(6000, 1000)
	a := call(r.k.kill, p, unix.SYS_KILL, uintptr(^uint(0)), uintptr(unix.SIGTERM))
	if a.kind != actAsync {
		t.Fatalf("kill(-1) with peers: %s, want asynchronous", a)
	}
	if len(r.sig.sent) != 0 {
		t.Fatalf("signals sent before the answer: %+v", r.sig.sent)
	}
	then, err := a.async(context.Background())
	if err != nil || then == nil {
		t.Fatalf("async part: %v", err)
	}
	if v := then(p); v != 0 {
		t.Errorf("kill(-1) returns %d", v)
	}
	if got := r.sig.pids(); !slices.Equal(got, []int{6000, 8000}) {
		t.Errorf("kill(-1) signalled %v, want 6000 and 8000", got)
	}
	for _, s := range r.sig.sent {
		if s.target.PID == 8000 && s.target.Node != "n2" {
			t.Errorf("8000 targeted on %q", s.target.Node)
		}
	}
	a = call(r.k.kill, p, unix.SYS_KILL, uintptr(^uint(8001-1)), uintptr(unix.SIGTERM))
	if _, err := a.async(context.Background()); !errors.Is(err, unix.EPERM) {
		t.Errorf("kill(-8001) of another user's group on n2: %v, want EPERM", err)
	}
	wantNative(t, "a local pid still runs natively", call(r.k.kill, p, unix.SYS_KILL, 6000, uintptr(unix.SIGTERM)))
}

// fakeRemote is a RemoteKills that holds PIDs 8000-8999 on n2 and
// answers err.
type fakeRemote struct {
	got []KillRequest
	err error
}

func (f *fakeRemote) KillHolder(pid int) string {
	if pid >= 8000 && pid < 9000 {
		return "n2"
	}
	return ""
}

func (f *fakeRemote) Kill(ctx context.Context, node string, req KillRequest) error {
	f.got = append(f.got, req)
	return f.err
}

// A kill or rt_sigqueueinfo of a PID this node does not hold asks its
// holder, asynchronously, with the sender's identity and siginfo; its
// errno is the call's. A PID nobody holds is ESRCH at once.
func TestKillElsewhere(t *testing.T) {
	r := newRig(t)
	fr := &fakeRemote{err: unix.EPERM}
	r.k.SetRemoteKills(fr)
	p := r.spawn(5000, 1000)
	wantErrno(t, "nobody's pid", call(r.k.kill, p, unix.SYS_KILL, 9500, 9), unix.ESRCH)
	a := call(r.k.kill, p, unix.SYS_KILL, 8000, uintptr(unix.SIGTERM))
	if a.kind != actAsync {
		t.Fatalf("kill of n2's pid: %s, want asynchronous", a)
	}
	if _, err := a.async(context.Background()); !errors.Is(err, unix.EPERM) {
		t.Errorf("answer %v, want n2's EPERM", err)
	}
	req := fr.got[0]
	if req.PID != 8000 || req.Sig != int(unix.SIGTERM) || req.Sender != 5000 || req.SenderSID != 5000 || req.Creds != user(1000) || req.Queued {
		t.Errorf("request %+v", req)
	}
	if req.Info.Code() != linux.SI_USER || req.Info.Pid() != 5000 || req.Info.UID() != 1000 {
		t.Errorf("siginfo code %d pid %d uid %d", req.Info.Code(), req.Info.Pid(), req.Info.UID())
	}

	si := sentry.NewSigInfo(int(unix.SIGUSR1), linux.SI_QUEUE, 5000, 1000)
	copy(p.mem[:], si[:])
	fr.err = nil
	a = call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 8001, uintptr(unix.SIGUSR1), memBase)
	if _, err := a.async(context.Background()); err != nil || !fr.got[1].Queued || fr.got[1].Info.Code() != linux.SI_QUEUE {
		t.Errorf("rt_sigqueueinfo elsewhere: %v, request %+v", err, fr.got[1])
	}
	wantErrno(t, "rt_sigqueueinfo with a bad siginfo", call(r.k.rtSigqueueinfo, p, unix.SYS_RT_SIGQUEUEINFO, 8001, 10, badAddr), unix.EFAULT)
}

// KillFrom decides for a sender on another node as the kernel does for a
// local one, and hands on a PID this node lent.
func TestKillFrom(t *testing.T) {
	r := newRig(t)
	r.spawn(5000, 1000)
	r.spawn(5001, 2000)
	from := KillRequest{Sender: 8000, SenderSID: 8000, Creds: user(1000), PID: 5000, Sig: int(unix.SIGTERM)}
	from.Info = sentry.NewSigInfo(from.Sig, linux.SI_USER, 8000, 1000)
	if fwd, err := r.k.KillFrom(from); err != nil || fwd != "" {
		t.Fatalf("KillFrom own uid: %q %v", fwd, err)
	}
	if len(r.sig.sent) != 1 || r.sig.sent[0].info.Pid() != 8000 || r.sig.sent[0].target.PID != 5000 {
		t.Errorf("delivered %+v", r.sig.sent)
	}
	other := from
	other.PID = 5001
	if _, err := r.k.KillFrom(other); err != unix.EPERM {
		t.Errorf("another uid's: %v, want EPERM", err)
	}
	other.Sig = 99
	if _, err := r.k.KillFrom(other); err != unix.EINVAL {
		t.Errorf("bad signal: %v, want EINVAL", err)
	}
	queued := from
	queued.Queued = true
	queued.Info.SetCode(0)
	if _, err := r.k.KillFrom(queued); err != unix.EPERM {
		t.Errorf("queued siginfo claiming the kernel: %v, want EPERM", err)
	}
	gone := from
	gone.PID = 5999
	if _, err := r.k.KillFrom(gone); err != unix.ESRCH {
		t.Errorf("no such pid: %v, want ESRCH", err)
	}
	r.k.Moved = func(pid int) (string, bool) { return "n3", pid == 5999 }
	if fwd, err := r.k.KillFrom(gone); fwd != "n3" || err != nil {
		t.Errorf("lent pid: %q %v, want forwarded to n3", fwd, err)
	}
}

// With peers, the hooks' model calls run on the lane, off the tracer
// thread, and their effects come back to it in the order the sentry
// reported them: a stop, then an exit, notify the parent in that order.
// Meanwhile a process whose exit is being recorded answers kill as a
// zombie.
func TestLaneKeepsHookOrder(t *testing.T) {
	r := newRig(t)
	posted := r.withPeers(staticPeers{})
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.k.Stopped(5001, int(unix.SIGTSTP))
	r.exit(5001, unix.WaitStatus(0), &unix.Rusage{})
	// Until the exit is recorded, the kernel's ESRCH for the gone task
	// is still a zombie's 0.
	// (The lane may have recorded it already: then the model answers.)
	if a := call(r.k.kill, p, unix.SYS_KILL, 5001, uintptr(unix.SIGTERM)); a.kind == actNative {
		finish(t, a, p, -int64(unix.ESRCH))
		if p.returned == nil || *p.returned != 0 {
			t.Errorf("kill of a child whose exit is being recorded: %v, want 0", p.returned)
		}
	} else {
		wantReturn(t, "kill of a recorded zombie", a, 0)
	}
	for range 2 {
		(<-posted)()
	}
	if len(r.sig.sent) != 2 {
		t.Fatalf("sent %+v, want two SIGCHLDs", r.sig.sent)
	}
	if c0, c1 := r.sig.sent[0].info.Code(), r.sig.sent[1].info.Code(); c0 != linux.CLD_STOPPED || c1 != linux.CLD_EXITED {
		t.Errorf("SIGCHLD codes %d then %d, want CLD_STOPPED then CLD_EXITED", c0, c1)
	}
}

// The kill handler's cost without peers (one node): the path every
// trapped kill takes.
func BenchmarkKillNoPeers(b *testing.B) {
	r := newRig(&testing.T{})
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	for b.Loop() {
		call(r.k.kill, p, unix.SYS_KILL, 5001, uintptr(unix.SIGTERM))
	}
}

// A child placed on n2 is lost with n2: its parent here gets SIGCHLD
// with CLD_KILLED and SIGKILL, from the lane, and no exec is committed
// to n2 until it is back.
func TestNodeLostKillsChildThere(t *testing.T) {
	r := newRig(t)
	posted := r.withPeers(staticPeers{})
	r.spawn(5000, 1000)
	r.fork(5000, 5001)
	if _, err := r.space.Export(5001, "n2"); err != nil {
		t.Fatal(err)
	}
	r.k.NodeLost("n2")
	(<-posted)()
	if len(r.sig.sent) != 1 {
		t.Fatalf("sent %+v, want one SIGCHLD", r.sig.sent)
	}
	s := r.sig.sent[0]
	if s.target.PID != 5000 || s.sig != int(unix.SIGCHLD) || s.info.Code() != linux.CLD_KILLED || s.info.Status() != int(unix.SIGKILL) {
		t.Errorf("sent %+v", s)
	}
	if !r.k.lost["n2"] {
		t.Errorf("n2 not marked lost")
	}
	r.k.NodeBack("n2")
	if r.k.lost["n2"] {
		t.Errorf("n2 still marked lost once back")
	}
}
