package syscalls

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/seccomp"

	"herd/pidspace"
	"herd/sentry"
)

// Calls that ask the kernel about a process by PID (prlimit64,
// getpriority and setpriority of PRIO_PROCESS, sched_getscheduler,
// sched_setscheduler, sched_getparam, sched_setparam,
// sched_rr_get_interval) run natively when the PID is a task of this
// node. A PID that runs on another node is no task of this node's kernel
// (ESRCH, or another process's): the call is sent to that node
// (RemoteProcs), which runs it there for the caller with Linux's
// permission checks (Kernel.ProcCallFrom, proccall_serve.go), while the
// caller is parked.

// ProcCall is one such call by a process of another node: the call's
// number and arguments (a pointer argument's value means nothing on the
// other node: In holds what the call reads there, and Out in ProcResult
// what it writes), the target PID, and the caller's credentials and
// effective capabilities for the permission checks.
type ProcCall struct {
	Nr    int
	PID   int
	Args  [6]uint64
	In    []byte
	Creds pidspace.Creds
	Caps  uint64
}

// ProcResult is a ProcCall's return value (a negative errno if it
// failed) and what it wrote to the caller's memory.
type ProcResult struct {
	Ret int64
	Out []byte
}

// RemoteProcs runs a ProcCall on the node a PID runs on. ProcCall blocks
// for a round trip: called off the tracer thread, until ctx ends. Its
// error is the call's errno.
type RemoteProcs interface {
	ProcCall(ctx context.Context, node string, c ProcCall) (ProcResult, error)
}

// SetRemoteProcs sets the service through which these calls reach a PID
// running on another node (before Attach, or on the tracer thread).
// Without one they run natively (a PID of another node: ESRCH).
func (k *Kernel) SetRemoteProcs(r RemoteProcs) { k.procCalls = r }

// procSpec says where a call's target PID and its memory are.
type procSpec struct {
	// pid is the target of t's call; 0 when the call is about the
	// caller itself (or not about a process), which runs natively.
	pid func(t task) int
	// in and out are the argument holding the address the call reads
	// (writes) and the size; arg -1 for none.
	in, out   int
	inN, outN int
}

// Sizes of what these calls read and write.
const (
	sizeRlimit     = 16 // struct rlimit64
	sizeSchedParam = 4  // struct sched_param
	sizeTimespec   = 16 // struct timespec
)

// firstArgPID is a procSpec's pid for calls whose first argument is it.
func firstArgPID(t task) int { return int(int32(t.Arg(0))) }

// prioPID is the target of getpriority and setpriority: who, for
// PRIO_PROCESS only (a group or user stays this node's).
func prioPID(t task) int {
	if int(t.Arg(0)) != unix.PRIO_PROCESS {
		return 0
	}
	return int(int32(t.Arg(1)))
}

var procSpecs = map[int]procSpec{
	unix.SYS_PRLIMIT64:             {pid: firstArgPID, in: 2, inN: sizeRlimit, out: 3, outN: sizeRlimit},
	unix.SYS_GETPRIORITY:           {pid: prioPID, in: -1, out: -1},
	unix.SYS_SETPRIORITY:           {pid: prioPID, in: -1, out: -1},
	unix.SYS_SCHED_GETSCHEDULER:    {pid: firstArgPID, in: -1, out: -1},
	unix.SYS_SCHED_SETSCHEDULER:    {pid: firstArgPID, in: 2, inN: sizeSchedParam, out: -1},
	unix.SYS_SCHED_GETPARAM:        {pid: firstArgPID, in: -1, out: 1, outN: sizeSchedParam},
	unix.SYS_SCHED_SETPARAM:        {pid: firstArgPID, in: 1, inN: sizeSchedParam, out: -1},
	unix.SYS_SCHED_RR_GET_INTERVAL: {pid: firstArgPID, in: -1, out: 1, outN: sizeTimespec},
}

// procCall is the handler of call nr (one of procSpecs).
func (k *Kernel) procCall(nr int) handler {
	spec := procSpecs[nr]
	return func(t task) action {
		pid := spec.pid(t)
		switch {
		case pid <= 0:
			return native()
		case pid <= herdInitMaxTID:
			return fail(unix.ESRCH)
		case k.tasks.task(pid) != nil:
			return native()
		}
		node := k.runsOn(pid)
		if node == "" || node == k.node || k.procCalls == nil {
			return native()
		}
		c, err := k.procCallOf(t, nr, pid, spec)
		if err != nil {
			return fail(errno(err))
		}
		return asyncThen(func(ctx context.Context) (func(task) int64, error) {
			res, err := k.procCalls.ProcCall(ctx, node, c)
			if err != nil {
				return nil, err
			}
			return func(t task) int64 { return procResult(t, spec, res) }, nil
		})
	}
}

// runsOn is the node process or thread pid runs on, as this node knows
// it: its record's, else the node holding its PID ("" if none).
func (k *Kernel) runsOn(pid int) string {
	if p, ok := k.procs.Lookup(pid); ok {
		if p.Virtual {
			return ""
		}
		return p.Node
	}
	if k.Moved != nil {
		if node, ok := k.Moved(pid); ok {
			return node
		}
	}
	if k.remote != nil {
		return k.remote.KillHolder(pid)
	}
	return ""
}

// procCallOf is t's call nr on pid as another node runs it.
func (k *Kernel) procCallOf(t task, nr, pid int, spec procSpec) (ProcCall, error) {
	c := ProcCall{Nr: nr, PID: pid}
	for i := range c.Args {
		c.Args[i] = uint64(t.Arg(i))
	}
	if spec.in >= 0 && t.Arg(spec.in) != 0 {
		c.In = make([]byte, spec.inN)
		if err := t.ReadMem(t.Arg(spec.in), c.In); err != nil {
			return c, unix.EFAULT
		}
	}
	if p, ok := k.procs.Lookup(caller(t)); ok {
		c.Creds = p.Creds
	}
	c.Caps = effectiveCaps(t.TID())
	return c, nil
}

// procResult writes res's memory to t's and returns its value.
func procResult(t task, spec procSpec, res ProcResult) int64 {
	if res.Ret < 0 {
		return res.Ret
	}
	if spec.out >= 0 && t.Arg(spec.out) != 0 && len(res.Out) == spec.outN {
		if t.WriteMem(t.Arg(spec.out), res.Out) != nil {
			return -int64(unix.EFAULT)
		}
	}
	return res.Ret
}

// effectiveCaps are task tid's effective capabilities (none if they
// cannot be read).
func effectiveCaps(tid int) uint64 {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3, Pid: int32(tid)}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return 0
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32
}

// procCallNote is the table's note of the calls of procSpecs.
const procCallNote = "Runs natively when the PID is this node's (or the caller's own: pid 0 is not trapped). A PID running on another node is sent there and the call made there, with Linux's permission checks for the caller (its ids and capabilities) against the target's ids; what the call reads and writes crosses with it."

// procCallRows adds the calls of procSpecs to tb, trapped only with a
// PID other than 0 (for get/setpriority: PRIO_PROCESS and who not 0).
func (k *Kernel) procCallRows(tb *sentry.Table) {
	I, H, P := sentry.ArgInt, sentry.ArgHex, sentry.ArgPtr
	notSelf := seccomp.PerArg{seccomp.NotEqual(0)}
	prio := seccomp.PerArg{seccomp.MaskedEqual(0xffffffff, unix.PRIO_PROCESS), seccomp.NotEqual(0)}
	rows := []struct {
		nr   uintptr
		name string
		m    seccomp.SyscallRule
		when string
		args []sentry.ArgKind
	}{
		{unix.SYS_PRLIMIT64, "prlimit64", notSelf, "pid != 0", []sentry.ArgKind{I, I, P, P}},
		{unix.SYS_GETPRIORITY, "getpriority", prio, "PRIO_PROCESS, who != 0", []sentry.ArgKind{I, I}},
		{unix.SYS_SETPRIORITY, "setpriority", prio, "PRIO_PROCESS, who != 0", []sentry.ArgKind{I, I, I}},
		{unix.SYS_SCHED_GETSCHEDULER, "sched_getscheduler", notSelf, "pid != 0", []sentry.ArgKind{I}},
		{unix.SYS_SCHED_SETSCHEDULER, "sched_setscheduler", notSelf, "pid != 0", []sentry.ArgKind{I, H, P}},
		{unix.SYS_SCHED_GETPARAM, "sched_getparam", notSelf, "pid != 0", []sentry.ArgKind{I, P}},
		{unix.SYS_SCHED_SETPARAM, "sched_setparam", notSelf, "pid != 0", []sentry.ArgKind{I, P}},
		{unix.SYS_SCHED_RR_GET_INTERVAL, "sched_rr_get_interval", notSelf, "pid != 0", []sentry.ArgKind{I, P}},
	}
	for _, r := range rows {
		tb.Add(sentry.Row{Nr: r.nr, Name: r.name, Disp: sentry.Trap, Match: r.m, MatchNote: r.when,
			Handler: live(k.procCall(int(r.nr))), Args: r.args, Note: procCallNote})
	}
}
