package syscalls

import (
	"context"
	"unsafe"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/procview"
	"herd/sentry"
)

// task is what a handler needs of the calling thread. The table adapts
// *sentry.Task to it (liveTask); the unit tests use a fake. Methods are
// called on the tracer thread while the task is stopped at syscall entry
// (or, in a nativeThen function, at its exit).
type task interface {
	TID() int
	TGID() int
	Sysno() int
	Arg(i int) uintptr
	SetArg(i int, v uintptr)
	// SetSysno makes the stopped call run as syscall nr instead.
	SetSysno(nr uintptr)
	ReadMem(addr uintptr, b []byte) error
	WriteMem(addr uintptr, b []byte) error
	// SetReturn replaces the result of a call that ran natively.
	SetReturn(v int64)
	// Wake completes a parked call with v.
	Wake(v int64)
	// Clone runs the (rewritten) clone so that the child gets the PID
	// op chooses.
	Clone(op *sentry.CloneOp) action
	// Inject runs nr(args) in this task (see sentry.Task.Inject).
	Inject(nr uintptr, args [6]uintptr, done func(ret int64)) bool
	// Creds are the kernel's credentials of the thread.
	Creds() (pidspace.Creds, error)
	// PidfdTarget is the PID that pidfd fd of the thread refers to:
	// EBADF if fd is not open, EINVAL if it is no pidfd, ECHILD if its
	// process is gone from the kernel.
	PidfdTarget(fd int) (int, error)
	// Discards reports whether the kernel would discard sig sent to
	// this thread, were it not traced (see sentry.Task.Discards).
	Discards(sig int) bool
	// BlockSignals blocks the thread's signals while an uninterruptible
	// call waits (see sentry.Task.BlockSignals).
	BlockSignals() (restore func(), err error)
	// TakeInjected is the siginfo of herd-init's own signal sig that a
	// call took (see sentry.Task.TakeInjected).
	TakeInjected(sig int, got *sentry.SigInfo) (sentry.SigInfo, bool)
}

// tasks finds the traced threads of this node by TID; nil if none.
type tasks interface {
	task(tid int) task
}

// caller is the POSIX process a task belongs to.
func caller(t task) int { return t.TGID() }

// actionKind says what an action does; see the constructors.
type actionKind int

const (
	actNative actionKind = iota
	actReturn
	actPark
	actSentry
	actAsync
)

// action is a handler's decision, turned into a sentry.Action by the
// table. It is a value of this package so that tests can inspect it.
type action struct {
	kind   actionKind
	val    int64
	after  func(t task, ret int64)
	cancel func()
	raw    sentry.Action
	// async is the slow part of an asynchronous call (asyncThen);
	// restart: a signal restarts the call instead of ending it
	// (asyncRestart).
	async   func(ctx context.Context) (then func(t task) int64, err error)
	restart bool
}

func native() action { return action{kind: actNative} }

func nativeThen(after func(t task, ret int64)) action {
	return action{kind: actNative, after: after}
}

func ret(v int64) action { return action{kind: actReturn, val: v} }

func fail(e unix.Errno) action { return ret(-int64(e)) }

// result is ret(v), or fail with the errno err carries.
func result(v int64, err error) action {
	if err != nil {
		return fail(errno(err))
	}
	return ret(v)
}

// park blocks the call until task.Wake; cancel runs if a signal
// interrupts it first (see sentry.Park).
func park(cancel func()) action { return action{kind: actPark, cancel: cancel} }

// asyncThen runs f off the tracer thread while the task is parked (see
// sentry.AsyncThen): f may wait for other nodes; its then, if not nil,
// runs on the tracer thread with the task stopped and gives the result
// (nil: 0), and its error fails the call with its errno.
func asyncThen(f func(ctx context.Context) (then func(t task) int64, err error)) action {
	return action{kind: actAsync, async: f}
}

// asyncRestart is asyncThen for a call Linux never interrupts (see
// sentry.AsyncRestart): a signal that comes first cancels f, its handler
// runs and the call is made again, whatever SA_RESTART says. f must have
// no effect outside its then, which runs only if it is not cancelled.
func asyncRestart(f func(ctx context.Context) (then func(t task) int64, err error)) action {
	return action{kind: actAsync, async: f, restart: true}
}

// asyncAction is the sentry's form of an asyncThen or asyncRestart action.
func asyncAction(f func(ctx context.Context) (func(t task) int64, error), restart bool) sentry.Action {
	g := func(ctx context.Context) (func(*sentry.Task) int64, error) {
		then, err := f(ctx)
		if err != nil || then == nil {
			return nil, err
		}
		return func(st *sentry.Task) int64 { return then(liveTask{st}) }, nil
	}
	if restart {
		return sentry.AsyncRestart(g)
	}
	return sentry.AsyncThen(g)
}

// sentryAction converts a to what the sentry runs.
func (a action) sentryAction() sentry.Action {
	switch a.kind {
	case actReturn:
		return sentry.Return(a.val)
	case actPark:
		return sentry.Park(a.cancel)
	case actSentry:
		return a.raw
	case actAsync:
		return asyncAction(a.async, a.restart)
	}
	if a.after == nil {
		return sentry.Native()
	}
	after := a.after
	return sentry.NativeThen(func(t *sentry.Task, ret int64) { after(liveTask{t}, ret) })
}

// handler is a syscall handler of this package.
type handler func(t task) action

// live adapts h to the sentry's Handler.
func live(h handler) sentry.Handler {
	return func(t *sentry.Task) sentry.Action { return h(liveTask{t}).sentryAction() }
}

// liveTask is a traced thread as a task.
type liveTask struct{ t *sentry.Task }

func (l liveTask) TID() int                              { return l.t.TID }
func (l liveTask) TGID() int                             { return l.t.TGID }
func (l liveTask) Sysno() int                            { return l.t.Sysno() }
func (l liveTask) Arg(i int) uintptr                     { return l.t.Arg(i) }
func (l liveTask) SetArg(i int, v uintptr)               { l.t.SetArg(i, v) }
func (l liveTask) ReadMem(addr uintptr, b []byte) error  { return l.t.ReadMem(addr, b) }
func (l liveTask) WriteMem(addr uintptr, b []byte) error { return l.t.WriteMem(addr, b) }
func (l liveTask) SetReturn(v int64)                     { l.t.SetReturn(v) }
func (l liveTask) Wake(v int64)                          { l.t.Wake(v) }

func (l liveTask) SetSysno(nr uintptr) {
	l.t.Regs().Orig_rax = uint64(nr)
	l.t.MarkRegsDirty()
}

func (l liveTask) Clone(op *sentry.CloneOp) action {
	return action{kind: actSentry, raw: l.t.Clone(op)}
}

func (l liveTask) Inject(nr uintptr, args [6]uintptr, done func(ret int64)) bool {
	return l.t.Inject(nr, args, done)
}

func (l liveTask) Creds() (pidspace.Creds, error) {
	st, err := procview.ReadStatus(l.t.TID)
	if err != nil {
		return pidspace.Creds{}, err
	}
	return credsOf(st), nil
}

func (l liveTask) PidfdTarget(fd int) (int, error) { return pidfdTarget(l.t.TID, fd) }

func (l liveTask) Discards(sig int) bool { return l.t.Discards(sig) }

func (l liveTask) BlockSignals() (func(), error) { return l.t.BlockSignals() }

func (l liveTask) TakeInjected(sig int, got *sentry.SigInfo) (sentry.SigInfo, bool) {
	return l.t.TakeInjected(sig, got)
}

// liveTasks finds the sentry's tasks.
type liveTasks struct{ s *sentry.Sentry }

func (l liveTasks) task(tid int) task {
	if t := l.s.Task(tid); t != nil {
		return liveTask{t}
	}
	return nil
}

// writeInt32 stores v at addr in t.
func writeInt32(t task, addr uintptr, v int32) error {
	return writeStruct(t, addr, &v)
}

// writeStruct stores the bytes of *v, a plain struct with the kernel's
// layout, at addr in t.
func writeStruct[T any](t task, addr uintptr, v *T) error {
	return t.WriteMem(addr, unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}

// readStruct loads *v from addr in t.
func readStruct[T any](t task, addr uintptr, v *T) error {
	return t.ReadMem(addr, unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}

// credsOf is the real, effective and saved ids of a /proc status.
func credsOf(st *procview.Status) pidspace.Creds {
	return pidspace.Creds{RUID: st.Uid[0], EUID: st.Uid[1], SUID: st.Uid[2], RGID: st.Gid[0], EGID: st.Gid[1], SGID: st.Gid[2]}
}
