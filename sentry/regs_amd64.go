package sentry

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// The x86-64 system call ABI on the registers ptrace gives, in one place:
// the number in orig_rax (rax at entry), the result in rax, the arguments
// in rdi, rsi, rdx, r10, r8, r9; and the task's extended state.

// syscallInsnLen is the length of the `syscall` instruction: rip minus it
// re-executes the call.
const syscallInsnLen = 2

// noSyscall in orig_rax at entry makes the kernel skip the call.
const noSyscall = ^uint64(0)

// sysnoOf is the number of the call r is stopped in (-1: none).
func sysnoOf(r *unix.PtraceRegs) int { return int(int64(r.Orig_rax)) }

func setSysno(r *unix.PtraceRegs, nr uint64) { r.Orig_rax = nr }

// retOf is the call's result, valid at its exit stop.
func retOf(r *unix.PtraceRegs) int64 { return int64(r.Rax) }

func setRet(r *unix.PtraceRegs, v int64) { r.Rax = uint64(v) }

// argRegs are the argument registers of r in argument order.
func argRegs(r *unix.PtraceRegs) [6]*uint64 {
	return [6]*uint64{&r.Rdi, &r.Rsi, &r.Rdx, &r.R10, &r.R8, &r.R9}
}

func argsOf(r *unix.PtraceRegs) [6]uintptr {
	var a [6]uintptr
	for i, p := range argRegs(r) {
		a[i] = uintptr(*p)
	}
	return a
}

func setArgs(r *unix.PtraceRegs, a [6]uintptr) {
	for i, p := range argRegs(r) {
		*p = uint64(a[i])
	}
}

// copyArgs puts the argument registers of e into r.
func copyArgs(r, e *unix.PtraceRegs) { setArgs(r, argsOf(e)) }

// rewindSyscall points r at the `syscall` instruction just executed, with
// call nr in rax, so that the task makes it when resumed.
func rewindSyscall(r *unix.PtraceRegs, nr uint64) {
	r.Rip -= syscallInsnLen
	r.Rax = nr
}

// Arg returns syscall argument i (0-5) of the stopped syscall.
func (t *Task) Arg(i int) uintptr { return uintptr(*argRegs(t.Regs())[i]) }

// SetArg rewrites syscall argument i before the syscall runs natively.
func (t *Task) SetArg(i int, v uintptr) {
	*argRegs(t.Regs())[i] = uint64(v)
	t.MarkRegsDirty()
}

// FSBase is the task's fs base (its TLS pointer on x86-64).
func (t *Task) FSBase() uint64 { return t.Regs().Fs_base }

// SetFSBase sets the fs base, written back when the task resumes.
func (t *Task) SetFSBase(v uint64) {
	t.Regs().Fs_base = v
	t.MarkRegsDirty()
}

// GSBase is the task's gs base.
func (t *Task) GSBase() uint64 { return t.Regs().Gs_base }

// SetGSBase sets the gs base, written back when the task resumes.
func (t *Task) SetGSBase(v uint64) {
	t.Regs().Gs_base = v
	t.MarkRegsDirty()
}

// xstateMax bounds the XSAVE area: 4 KiB covers up to AVX-512, AMX's
// tiles need a little over 11 KiB.
const xstateMax = 16 << 10

// XState returns the task's extended register state (the XSAVE area:
// x87, SSE, AVX and beyond) as the kernel lays it out, via
// PTRACE_GETREGSET NT_X86_XSTATE. The task must be stopped.
func (t *Task) XState() ([]byte, error) {
	buf := make([]byte, xstateMax)
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	if err := ptrace(unix.PTRACE_GETREGSET, t.TID, linux.NT_X86_XSTATE, uintptr(unsafe.Pointer(&iov))); err != nil {
		return nil, fmt.Errorf("get xstate of %v: %w", t, err)
	}
	return buf[:iov.Len], nil
}

// SetXState writes an XSAVE area, as XState returns it, into the task.
// The task must be stopped.
func (t *Task) SetXState(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("set xstate of %v: %w", t, unix.EINVAL)
	}
	iov := unix.Iovec{Base: &b[0], Len: uint64(len(b))}
	if err := ptrace(unix.PTRACE_SETREGSET, t.TID, linux.NT_X86_XSTATE, uintptr(unsafe.Pointer(&iov))); err != nil {
		return fmt.Errorf("set xstate of %v: %w", t, err)
	}
	return nil
}
