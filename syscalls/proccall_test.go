package syscalls

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"herd/pidspace"
)

// fakeProcs is a RemoteProcs that records the calls and answers res.
type fakeProcs struct {
	nodes []string
	got   []ProcCall
	res   ProcResult
	err   error
}

func (f *fakeProcs) ProcCall(ctx context.Context, node string, c ProcCall) (ProcResult, error) {
	f.nodes = append(f.nodes, node)
	f.got = append(f.got, c)
	return f.res, f.err
}

// A process call on a PID of this node (or the caller's own: 0) runs
// natively; on one another node holds, it is made there, with what the
// call reads, and what it writes there comes back into the caller's
// memory.
func TestProcCallElsewhere(t *testing.T) {
	r := newRig(t)
	r.k.SetRemoteKills(&fakeRemote{})
	fp := &fakeProcs{}
	r.k.SetRemoteProcs(fp)
	p := r.spawn(5000, 1000)
	r.spawn(6000, 1000)
	prlimit := r.k.procCall(unix.SYS_PRLIMIT64)
	wantNative(t, "prlimit of self", call(prlimit, p, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, memBase))
	wantNative(t, "prlimit of a local pid", call(prlimit, p, unix.SYS_PRLIMIT64, 6000, unix.RLIMIT_NOFILE, 0, memBase))
	wantErrno(t, "prlimit of herd-init", call(prlimit, p, unix.SYS_PRLIMIT64, 2, unix.RLIMIT_NOFILE, 0, memBase), unix.ESRCH)
	wantNative(t, "prlimit of nobody's pid", call(prlimit, p, unix.SYS_PRLIMIT64, 9500, unix.RLIMIT_NOFILE, 0, memBase))

	binary.NativeEndian.PutUint64(p.mem[0:], 100)
	binary.NativeEndian.PutUint64(p.mem[8:], 200)
	out := make([]byte, sizeRlimit)
	binary.NativeEndian.PutUint64(out, 7)
	fp.res = ProcResult{Ret: 0, Out: out}
	a := call(prlimit, p, unix.SYS_PRLIMIT64, 8000, unix.RLIMIT_NOFILE, memBase, memBase+64)
	if a.kind != actAsync {
		t.Fatalf("prlimit of n2's pid: %s, want asynchronous", a)
	}
	then, err := a.async(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v := then(p); v != 0 || p.u64(memBase+64) != 7 {
		t.Errorf("prlimit answer %d, old limit written %d", v, p.u64(memBase+64))
	}
	c := fp.got[0]
	if fp.nodes[0] != "n2" || c.Nr != unix.SYS_PRLIMIT64 || c.PID != 8000 || c.Creds != user(1000) ||
		len(c.In) != sizeRlimit || binary.NativeEndian.Uint64(c.In[8:]) != 200 {
		t.Errorf("request to %v: %+v", fp.nodes, c)
	}
	wantErrno(t, "a new limit the caller cannot read",
		call(prlimit, p, unix.SYS_PRLIMIT64, 8000, unix.RLIMIT_NOFILE, badAddr, 0), unix.EFAULT)

	getprio := r.k.procCall(unix.SYS_GETPRIORITY)
	wantNative(t, "getpriority of a group", call(getprio, p, unix.SYS_GETPRIORITY, unix.PRIO_PGRP, 8000))
	fp.err = unix.EPERM
	a = call(getprio, p, unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 8000)
	if _, err := a.async(context.Background()); !errors.Is(err, unix.EPERM) {
		t.Errorf("getpriority answered %v, want n2's EPERM", err)
	}
}

// ProcCallFrom hands on a PID whose process runs on another node, and
// refuses herd-init's and unknown PIDs.
func TestProcCallFromForwards(t *testing.T) {
	r := newRig(t)
	r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.spawn(5002, 1000)
	for _, pid := range []int{5001, 5002} { // a stub stays of 5001, 5002 goes
		if _, err := r.space.Export(pid, "n2"); err != nil {
			t.Fatal(err)
		}
	}
	for _, pid := range []int{5001, 5002} {
		c := ProcCall{Nr: unix.SYS_GETPRIORITY, PID: pid, Args: [6]uint64{unix.PRIO_PROCESS, uint64(pid)}}
		if _, fwd, err := r.k.ProcCallFrom(c); err != nil || fwd != "n2" {
			t.Errorf("%d, gone to n2: forward %q, %v", pid, fwd, err)
		}
	}
	c := ProcCall{Nr: unix.SYS_GETPRIORITY}
	c.PID = 2
	if _, _, err := r.k.ProcCallFrom(c); err != unix.ESRCH {
		t.Errorf("herd-init's pid: %v, want ESRCH", err)
	}
	c.Nr = unix.SYS_GETPID
	if _, _, err := r.k.ProcCallFrom(c); err != unix.ENOSYS {
		t.Errorf("a call that is not one of them: %v, want ENOSYS", err)
	}
}

// Linux's permission checks, against a real task: this test process.
func TestProcCallPermissions(t *testing.T) {
	self := os.Getpid()
	tc, err := taskCreds(self)
	if err != nil {
		t.Fatal(err)
	}
	if uint32(os.Getuid()) != tc.uid[0] || uint32(os.Getegid()) != tc.gid[1] {
		t.Fatalf("taskCreds %+v, want this process's ids", tc)
	}
	other := pidspace.Creds{RUID: tc.uid[0] + 1, EUID: tc.uid[0] + 1, SUID: tc.uid[0] + 1, RGID: tc.gid[0] + 1, EGID: tc.gid[0] + 1, SGID: tc.gid[0] + 1}
	same := pidspace.Creds{RUID: tc.uid[0], EUID: tc.uid[1], SUID: tc.uid[2], RGID: tc.gid[0], EGID: tc.gid[1], SGID: tc.gid[2]}
	allCaps := ^uint64(0)
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, self)
	if err != nil {
		t.Fatal(err)
	}
	nice := uint64(20 - raw)
	for _, tt := range []struct {
		what string
		c    ProcCall
		want error
	}{
		{"getpriority of another user's", ProcCall{Nr: unix.SYS_GETPRIORITY, Creds: other}, nil},
		{"setpriority of another user's", ProcCall{Nr: unix.SYS_SETPRIORITY, Creds: other, Args: [6]uint64{0, 0, nice}}, unix.EPERM},
		{"setpriority of another user's, CAP_SYS_NICE", ProcCall{Nr: unix.SYS_SETPRIORITY, Creds: other, Caps: allCaps, Args: [6]uint64{0, 0, nice}}, nil},
		{"setpriority of one's own, same nice", ProcCall{Nr: unix.SYS_SETPRIORITY, Creds: same, Args: [6]uint64{0, 0, nice}}, nil},
		{"prlimit of another user's", ProcCall{Nr: unix.SYS_PRLIMIT64, Creds: other}, unix.EPERM},
		{"prlimit of another user's, CAP_SYS_RESOURCE", ProcCall{Nr: unix.SYS_PRLIMIT64, Creds: other, Caps: 1 << unix.CAP_SYS_RESOURCE}, nil},
		{"prlimit of one's own", ProcCall{Nr: unix.SYS_PRLIMIT64, Creds: same}, nil},
		{"sched_setparam of another user's", ProcCall{Nr: unix.SYS_SCHED_SETPARAM, Creds: other, In: make([]byte, sizeSchedParam)}, unix.EPERM},
		{"sched_setparam of one's own", ProcCall{Nr: unix.SYS_SCHED_SETPARAM, Creds: same, In: make([]byte, sizeSchedParam)}, nil},
	} {
		tt.c.PID = self
		if err := mayProcCall(tt.c, tc); err != tt.want {
			t.Errorf("%s: %v, want %v", tt.what, err, tt.want)
		}
	}

	// Raising a hard limit needs CAP_SYS_RESOURCE.
	var lim unix.Rlimit
	if err := unix.Prlimit(self, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		t.Fatal(err)
	}
	in := make([]byte, sizeRlimit)
	binary.NativeEndian.PutUint64(in, lim.Cur)
	binary.NativeEndian.PutUint64(in[8:], lim.Max+1)
	raise := ProcCall{Nr: unix.SYS_PRLIMIT64, PID: self, Creds: same, Args: [6]uint64{uint64(self), unix.RLIMIT_NOFILE, 1}, In: in}
	if lim.Max != unix.RLIM_INFINITY {
		if err := mayProcCall(raise, tc); err != unix.EPERM {
			t.Errorf("raising the hard limit without CAP_SYS_RESOURCE: %v, want EPERM", err)
		}
	}
}

// runProcCall makes the call with the caller's memory in its place.
func TestRunProcCall(t *testing.T) {
	self := os.Getpid()
	var lim unix.Rlimit
	if err := unix.Prlimit(self, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		t.Fatal(err)
	}
	c := ProcCall{Nr: unix.SYS_PRLIMIT64, PID: self, Args: [6]uint64{uint64(self), unix.RLIMIT_NOFILE, 0, 1}}
	res, _, err := runProcCall(c, procSpecs[c.Nr])
	if err != nil || res.Ret != 0 || len(res.Out) != sizeRlimit {
		t.Fatalf("prlimit get: %+v, %v", res, err)
	}
	if binary.NativeEndian.Uint64(res.Out) != lim.Cur || binary.NativeEndian.Uint64(res.Out[8:]) != lim.Max {
		t.Errorf("prlimit get wrote %v, want %+v", res.Out, lim)
	}
	c = ProcCall{Nr: unix.SYS_SCHED_GETPARAM, PID: self, Args: [6]uint64{uint64(self), 1}}
	if res, _, err := runProcCall(c, procSpecs[c.Nr]); err != nil || len(res.Out) != sizeSchedParam {
		t.Errorf("sched_getparam: %+v, %v", res, err)
	}
	c = ProcCall{Nr: unix.SYS_SCHED_SETPARAM, PID: self, Args: [6]uint64{uint64(self), 1}, In: []byte{1}}
	if _, _, err := runProcCall(c, procSpecs[c.Nr]); err != unix.EINVAL {
		t.Errorf("a short sched_param: %v, want EINVAL", err)
	}
}
