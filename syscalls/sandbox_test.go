package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSandboxEdge(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	wantErrno(t, "ptrace", call(r.k.ptrace, p, unix.SYS_PTRACE, unix.PTRACE_ATTACH, 5000), unix.EPERM)
	wantErrno(t, "process_vm_readv of herd-init", call(r.k.processVMReadv, p, unix.SYS_PROCESS_VM_READV, 1), unix.ESRCH)
	wantErrno(t, "process_vm_writev of a herd-init thread", call(r.k.processVMWritev, p, unix.SYS_PROCESS_VM_WRITEV, herdInitMaxTID), unix.ESRCH)
	wantNative(t, "process_vm_readv of a sandboxed process", call(r.k.processVMReadv, p, unix.SYS_PROCESS_VM_READV, 5000))
}

func TestPidfdOpen(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	wantErrno(t, "herd-init", call(r.k.pidfdOpen, p, unix.SYS_PIDFD_OPEN, 1, 0), unix.ESRCH)
	a := call(r.k.pidfdOpen, p, unix.SYS_PIDFD_OPEN, 5000, 0)
	finish(t, a, p, -int64(unix.EINVAL))
	finish(t, a, p, 7)
	if pid, ok := r.k.pidfds.target(5000, 7); !ok || pid != 5000 {
		t.Errorf("fd 7 remembered as %d %v", pid, ok)
	}
	if len(r.k.pidfds[5000]) != 1 {
		t.Errorf("failed pidfd_open remembered: %v", r.k.pidfds)
	}
	r.exit(5000, 0, nil)
	if _, ok := r.k.pidfds.target(5000, 7); ok {
		t.Error("pidfds outlive their process")
	}
}
