package syscalls

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// Handlers are tested against a fakeTask and fake services around a real
// pidspace.Space: nothing here traces, so no test needs root.

// memBase and memSize bound the fake task's only mapped memory; any
// address outside faults.
const (
	memBase = 0x10000
	memSize = 0x1000
	badAddr = 0x8
)

type fakeTask struct {
	tid, tgid int
	sysno     int
	args      [6]uintptr
	mem       [memSize]byte

	returned *int64          // SetReturn
	woken    []int64         // Wake
	cloned   *sentry.CloneOp // Clone
	injected []uintptr       // Inject: syscall numbers
	injectOK bool            // Inject's answer; done runs later
	done     []func(int64)   // pending injections
	creds    pidspace.Creds
	pidfd    map[int]int   // fd -> PID, for PidfdTarget
	pidfdErr map[int]error // fd -> error, for PidfdTarget
	discards map[int]bool  // signals Discards says yes to
}

func newTask(pid int, sysno int, args ...uintptr) *fakeTask {
	t := &fakeTask{tid: pid, tgid: pid, sysno: sysno}
	copy(t.args[:], args)
	return t
}

func (f *fakeTask) TID() int                { return f.tid }
func (f *fakeTask) TGID() int               { return f.tgid }
func (f *fakeTask) Sysno() int              { return f.sysno }
func (f *fakeTask) Arg(i int) uintptr       { return f.args[i] }
func (f *fakeTask) SetArg(i int, v uintptr) { f.args[i] = v }
func (f *fakeTask) SetSysno(nr uintptr)     { f.sysno = int(nr) }
func (f *fakeTask) SetReturn(v int64)       { f.returned = &v }
func (f *fakeTask) Wake(v int64)            { f.woken = append(f.woken, v) }

func (f *fakeTask) span(addr uintptr, n int) ([]byte, error) {
	if addr < memBase || addr+uintptr(n) > memBase+memSize {
		return nil, unix.EFAULT
	}
	return f.mem[addr-memBase : addr-memBase+uintptr(n)], nil
}

func (f *fakeTask) ReadMem(addr uintptr, b []byte) error {
	m, err := f.span(addr, len(b))
	if err == nil {
		copy(b, m)
	}
	return err
}

func (f *fakeTask) WriteMem(addr uintptr, b []byte) error {
	m, err := f.span(addr, len(b))
	if err == nil {
		copy(m, b)
	}
	return err
}

// u32 and u64 read the fake's memory at addr.
func (f *fakeTask) u32(addr uintptr) uint32 {
	return binary.NativeEndian.Uint32(f.mem[addr-memBase:])
}

func (f *fakeTask) u64(addr uintptr) uint64 {
	return binary.NativeEndian.Uint64(f.mem[addr-memBase:])
}

func (f *fakeTask) Clone(op *sentry.CloneOp) action {
	f.cloned = op
	return action{kind: actSentry}
}

func (f *fakeTask) Inject(nr uintptr, args [6]uintptr, done func(int64)) bool {
	f.injected = append(f.injected, nr)
	if !f.injectOK {
		done(-int64(unix.EAGAIN))
		return false
	}
	f.done = append(f.done, done)
	return true
}

func (f *fakeTask) Creds() (pidspace.Creds, error) { return f.creds, nil }

func (f *fakeTask) PidfdTarget(fd int) (int, error) {
	if err := f.pidfdErr[fd]; err != nil {
		return 0, err
	}
	if pid, ok := f.pidfd[fd]; ok {
		return pid, nil
	}
	return 0, unix.EBADF
}

func (f *fakeTask) Discards(sig int) bool { return f.discards[sig] }

func (f *fakeTask) BlockSignals() (func(), error) { return func() {}, nil }

func (f *fakeTask) TakeInjected(int, *sentry.SigInfo) (sentry.SigInfo, bool) {
	return sentry.SigInfo{}, false
}

type fakeTasks map[int]*fakeTask

func (ft fakeTasks) task(tid int) task {
	if t := ft[tid]; t != nil {
		return t
	}
	return nil
}

// sent is one signal the fake Signaller was asked to deliver.
type sent struct {
	target pidspace.Target
	sig    int
	info   sentry.SigInfo
}

type fakeSignals struct{ sent []sent }

func (fs *fakeSignals) Signal(target pidspace.Target, sig int, info *sentry.SigInfo) error {
	fs.sent = append(fs.sent, sent{target, sig, *info})
	return nil
}

func (fs *fakeSignals) pids() []int {
	var out []int
	for _, s := range fs.sent {
		out = append(out, s.target.PID)
	}
	slices.Sort(out)
	return out
}

type fakeAlloc struct{ next int }

func (a *fakeAlloc) Alloc() (int, error) { a.next++; return a.next, nil }
func (a *fakeAlloc) Reserve(int) error   { return nil }
func (a *fakeAlloc) Free(int)            {}

// rig is a Kernel of node "n1" over a real Space, with fake tasks and a
// fake Signaller.
type rig struct {
	t     *testing.T
	k     *Kernel
	space *pidspace.Space
	tasks fakeTasks
	sig   *fakeSignals
}

func newRig(t *testing.T) *rig {
	alloc := &fakeAlloc{next: 9000}
	space := pidspace.NewSpace("n1", alloc)
	if err := space.AddInit(); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, space: space, tasks: fakeTasks{}, sig: &fakeSignals{}}
	r.k = NewKernel("n1", space, alloc, nil)
	r.k.tasks = r.tasks
	r.k.SetSignaller(r.sig)
	return r
}

// spawn adds a program of launcher-less parent 1 in a new session, as
// uid, with a task.
func (r *rig) spawn(pid int, uid uint32) *fakeTask {
	r.t.Helper()
	c := pidspace.Creds{RUID: uid, EUID: uid, SUID: uid, RGID: uid, EGID: uid, SGID: uid}
	if err := r.space.Spawn(pidspace.SpawnArgs{PPID: 1, PID: pid, PGID: pid, SID: pid, Creds: c, Comm: "p"}); err != nil {
		r.t.Fatal(err)
	}
	return r.task(pid)
}

// fork makes child a child of parent, with a task.
func (r *rig) fork(parent, child int) *fakeTask {
	r.t.Helper()
	if err := r.space.Fork(parent, child, int(unix.SIGCHLD)); err != nil {
		r.t.Fatal(err)
	}
	return r.task(child)
}

func (r *rig) task(pid int) *fakeTask {
	t := newTask(pid, 0)
	r.tasks[pid] = t
	return t
}

// exit records pid's exit with status and usage, as the sentry's hook.
func (r *rig) exit(pid int, status unix.WaitStatus, ru *unix.Rusage) {
	delete(r.tasks, pid)
	r.k.Exited(pid, status, ru)
}

// call runs h as t making syscall nr(args).
func call(h handler, t *fakeTask, nr int, args ...uintptr) action {
	t.sysno = nr
	t.args = [6]uintptr{}
	copy(t.args[:], args)
	return h(t)
}

// wantReturn fails unless a skips the call with v.
func wantReturn(t *testing.T, what string, a action, v int64) {
	t.Helper()
	if a.kind != actReturn || a.val != v {
		t.Errorf("%s: got %s, want return %d", what, a, v)
	}
}

func wantErrno(t *testing.T, what string, a action, e unix.Errno) {
	t.Helper()
	wantReturn(t, what, a, -int64(e))
}

func wantNative(t *testing.T, what string, a action) {
	t.Helper()
	if a.kind != actNative {
		t.Errorf("%s: got %s, want native", what, a)
	}
}

// finish runs a nativeThen action's exit function with the kernel's ret.
func finish(t *testing.T, a action, tk *fakeTask, ret int64) {
	t.Helper()
	if a.kind != actNative || a.after == nil {
		t.Fatalf("got %s, want native with an exit function", a)
	}
	a.after(tk, ret)
}

func (a action) String() string {
	switch a.kind {
	case actNative:
		if a.after != nil {
			return "native then exit function"
		}
		return "native"
	case actReturn:
		if a.val < 0 && a.val > -4096 {
			return "return " + unix.Errno(-a.val).Error()
		}
		return "return value"
	case actPark:
		return "park"
	}
	return "sentry action"
}
