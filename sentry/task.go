package sentry

import (
	"bytes"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// taskState is where a task is as the tracer sees it.
type taskState int

const (
	stateRunning    taskState = iota // resumed; the next event is the kernel's
	stateNewborn                     // new child that has not run: its first stop is pending or being handled
	stateSyscall                     // stopped at a trapped syscall's entry
	stateAwaitExit                   // resumed with PTRACE_SYSCALL, waiting for the exit stop
	stateParked                      // parked in pause() while an emulation completes
	stateGroupStop                   // in a group-stop, listening (PTRACE_LISTEN)
	stateHeld                        // stopped and held by the sentry (e.g. waiting for the fork lock)
	stateInjecting                   // running a syscall the sentry injected
	stateAwaitEntry                  // resumed to its next syscall's entry, for an injection
	stateAwaitChild                  // held at its clone event until the child's first stop (letRun)
)

// A Task is one traced thread. Tasks of one thread group share TGID.
// Task methods must be called on the tracer thread while the task is
// stopped, which is when handlers and hooks run.
type Task struct {
	TID  int
	TGID int

	s     *Sentry
	state taskState

	regs      unix.PtraceRegs
	regsValid bool
	regsDirty bool

	// unblock restores the signal mask BlockSignals replaced, until
	// its restore runs; a parked call that ends without its answer
	// (a wake that is no signal: SIGCONT to a seized task interrupts
	// pause() whatever the mask) runs it, so the call is made again
	// with the task's own mask.
	unblock func()

	// sysno and the syscall being handled, valid in stateSyscall.
	sysno int
	// entry are the registers at syscall entry, before any rewrite, so
	// a call the kernel restarts is restarted as the task made it.
	entry unix.PtraceRegs

	// after runs at the syscall-exit stop of a call resumed with NativeThen.
	after func(t *Task, ret int64)

	// park is the pending emulation of a parked task.
	park *parked

	// clone is the clone in flight from this task.
	clone *CloneOp

	// interrupted is set while a PTRACE_INTERRUPT is outstanding.
	interrupted bool

	// fixArgs are argument registers to restore at a new child's first
	// stop (see CloneOp.entry).
	fixArgs *unix.PtraceRegs

	// creator is the task held at its clone event until this new
	// child's first stop (letRun); born is when a child was recorded
	// before its first stop (for the phantom guard).
	creator *Task
	born    time.Time

	// injections wait for the task's next stop; inject is the one
	// running.
	injections []*injection
	inject     *injection
}

func (t *Task) String() string { return fmt.Sprintf("task %d/%d", t.TGID, t.TID) }

// IsLeader reports whether t is its thread group's leader.
func (t *Task) IsLeader() bool { return t.TID == t.TGID }

// Sentry returns the sentry that traces t.
func (t *Task) Sentry() *Sentry { return t.s }

func (t *Task) loadRegs() error {
	if t.regsValid {
		return nil
	}
	if err := ptraceGetRegs(t.TID, &t.regs); err != nil {
		return fmt.Errorf("get registers of %v: %w", t, err)
	}
	t.regsValid = true
	return nil
}

// Regs returns the task's registers as of its current stop. Changes are
// written back when the task resumes if MarkRegsDirty is called.
func (t *Task) Regs() *unix.PtraceRegs {
	if err := t.loadRegs(); err != nil {
		// A task that vanished under us (SIGKILL) reads as zeros; its
		// exit event follows and cleans up.
		t.regs = unix.PtraceRegs{}
	}
	return &t.regs
}

// MarkRegsDirty says the registers were changed and must be written back.
func (t *Task) MarkRegsDirty() { t.regsDirty = true }

func (t *Task) flushRegs() error {
	if !t.regsDirty {
		return nil
	}
	t.regsDirty = false
	if err := ptraceSetRegs(t.TID, &t.regs); err != nil {
		return fmt.Errorf("set registers of %v: %w", t, err)
	}
	return nil
}

// Sysno is the number of the syscall the task is stopped in.
func (t *Task) Sysno() int { return t.sysno }

// ReadMem copies len(b) bytes at addr of the task's memory into b. A bad
// address gives EFAULT, as it would to the task itself.
func (t *Task) ReadMem(addr uintptr, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	local := []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}}
	remote := []unix.RemoteIovec{{Base: addr, Len: len(b)}}
	n, err := unix.ProcessVMReadv(t.TID, local, remote, 0)
	if err != nil || n != len(b) {
		return unix.EFAULT
	}
	return nil
}

// WriteMem copies b to addr in the task's memory; EFAULT on a bad address.
// process_vm_writev respects page protections, so read-only memory is
// written through /proc/pid/mem, as the kernel's ptrace POKE would.
func (t *Task) WriteMem(addr uintptr, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	local := []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}}
	remote := []unix.RemoteIovec{{Base: addr, Len: len(b)}}
	n, err := unix.ProcessVMWritev(t.TID, local, remote, 0)
	if err == nil && n == len(b) {
		return nil
	}
	return unix.EFAULT
}

// ReadString reads a NUL-terminated string of at most max bytes at addr.
func (t *Task) ReadString(addr uintptr, max int) (string, error) {
	return ReadString(t, addr, max)
}

// MemReader reads a task's memory (Task, or a handler's view of one).
type MemReader interface {
	ReadMem(addr uintptr, b []byte) error
}

// ReadString reads a NUL-terminated string of at most max bytes at addr
// of m's memory: ENAMETOOLONG past max, EFAULT on a bad address.
func ReadString(m MemReader, addr uintptr, max int) (string, error) {
	var out []byte
	buf := make([]byte, 256)
	for len(out) < max {
		// Read up to the end of the page so an unmapped next page does
		// not fail a short string.
		n := min(len(buf), 4096-int(addr%4096))
		if err := m.ReadMem(addr, buf[:n]); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:n]...)
		addr += uintptr(n)
	}
	return "", unix.ENAMETOOLONG
}

// WriteInt32 stores v at addr in the task.
func (t *Task) WriteInt32(addr uintptr, v int32) error {
	return t.WriteMem(addr, (*[4]byte)(unsafe.Pointer(&v))[:])
}

// WriteStruct stores the bytes of *v at addr in the task. v must point to a
// plain struct with the kernel's layout.
func WriteStruct[T any](t *Task, addr uintptr, v *T) error {
	return t.WriteMem(addr, unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}

// ReadStruct loads *v from addr in the task.
func ReadStruct[T any](t *Task, addr uintptr, v *T) error {
	return t.ReadMem(addr, unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}
