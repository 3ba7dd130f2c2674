package sentry

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptraceOptions are set on every tracee. Children are auto-attached
// (fork, vfork, clone), exec and seccomp stops are reported, and
// EXITKILL makes the kernel kill every tracee if the tracer dies, so
// nothing ever runs untraced.
const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD |
	unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACEEXEC |
	unix.PTRACE_O_TRACESECCOMP |
	unix.PTRACE_O_EXITKILL

// ptrace makes a ptrace request with a raw system call. The tracer makes
// three or four of them per trapped call; none blocks, so the Go
// scheduler's syscall bookkeeping (entersyscall/exitsyscall) is overhead
// the tracer's hot path does without. Only wait4 blocks, and it goes
// through the scheduler.
func ptrace(req int, pid int, addr, data uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func ptraceInterrupt(pid int) error { return ptrace(unix.PTRACE_INTERRUPT, pid, 0, 0) }

func ptraceGetRegs(pid int, regs *unix.PtraceRegs) error {
	return ptrace(unix.PTRACE_GETREGS, pid, 0, uintptr(unsafe.Pointer(regs)))
}

func ptraceSetRegs(pid int, regs *unix.PtraceRegs) error {
	return ptrace(unix.PTRACE_SETREGS, pid, 0, uintptr(unsafe.Pointer(regs)))
}

func ptraceGetEventMsg(pid int) (uint, error) {
	var msg uint
	err := ptrace(unix.PTRACE_GETEVENTMSG, pid, 0, uintptr(unsafe.Pointer(&msg)))
	return msg, err
}

func ptraceSeize(pid int) error {
	return ptrace(unix.PTRACE_SEIZE, pid, 0, ptraceOptions)
}

func ptraceListen(pid int) error { return ptrace(unix.PTRACE_LISTEN, pid, 0, 0) }

func ptraceGetSigInfo(pid int, si *SigInfo) error {
	return ptrace(unix.PTRACE_GETSIGINFO, pid, 0, uintptr(unsafe.Pointer(si)))
}

func ptraceSetSigInfo(pid int, si *SigInfo) error {
	return ptrace(unix.PTRACE_SETSIGINFO, pid, 0, uintptr(unsafe.Pointer(si)))
}

// SigInfo is the kernel's siginfo_t (128 bytes on amd64), kept as raw
// bytes with accessors for the fields herd reads and writes.
type SigInfo [128]byte

func (si *SigInfo) i32(off int) int32 { return *(*int32)(unsafe.Pointer(&si[off])) }
func (si *SigInfo) seti32(off int, v int32) {
	*(*int32)(unsafe.Pointer(&si[off])) = v
}
func (si *SigInfo) i64(off int) int64 { return *(*int64)(unsafe.Pointer(&si[off])) }
func (si *SigInfo) seti64(off int, v int64) {
	*(*int64)(unsafe.Pointer(&si[off])) = v
}

func (si *SigInfo) Signo() int     { return int(si.i32(0)) }
func (si *SigInfo) Errno() int     { return int(si.i32(4)) }
func (si *SigInfo) Code() int      { return int(si.i32(8)) }
func (si *SigInfo) Pid() int       { return int(si.i32(16)) }
func (si *SigInfo) UID() uint32    { return uint32(si.i32(20)) }
func (si *SigInfo) Status() int    { return int(si.i32(24)) }
func (si *SigInfo) Value() int64   { return si.i64(24) }
func (si *SigInfo) SetSigno(v int) { si.seti32(0, int32(v)) }
func (si *SigInfo) SetCode(v int)  { si.seti32(8, int32(v)) }
func (si *SigInfo) SetPid(v int)   { si.seti32(16, int32(v)) }
func (si *SigInfo) SetUID(v uint32) {
	si.seti32(20, int32(v))
}
func (si *SigInfo) SetStatus(v int) { si.seti32(24, int32(v)) }

// SetChildTimes fills si_utime and si_stime of a SIGCHLD siginfo, in clock
// ticks as the kernel reports them.
func (si *SigInfo) SetChildTimes(utime, stime int64) {
	si.seti64(32, utime)
	si.seti64(40, stime)
}

// NewSigInfo builds the siginfo of a signal sent by process pid (0: by
// the kernel) of real uid uid, with si_code code (SI_USER for kill).
func NewSigInfo(sig, code, pid int, uid uint32) SigInfo {
	var si SigInfo
	si.SetSigno(sig)
	si.SetCode(code)
	si.SetPid(pid)
	si.SetUID(uid)
	return si
}

// NewChildSigInfo builds the siginfo of a SIGCHLD about child pid.
func NewChildSigInfo(pid int, uid uint32, code, status int) SigInfo {
	si := NewSigInfo(int(unix.SIGCHLD), code, pid, uid)
	si.SetStatus(status)
	return si
}

// syscallStopKind (unix.PTRACE_SYSCALL_INFO_ENTRY or _EXIT) tells a
// syscall-entry stop from a syscall-exit stop; after exec or a signal the
// tracer cannot know which comes next.
func syscallStopKind(tid int) int {
	var info [88]byte
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid), uintptr(len(info)), uintptr(unsafe.Pointer(&info[0])), 0, 0)
	if e != 0 {
		return 0
	}
	return int(info[0])
}
