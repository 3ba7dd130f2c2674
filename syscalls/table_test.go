package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"herd/sentry"
)

// The filter is generated from the table; run it through gVisor's BPF
// interpreter to check each disposition reaches the kernel as meant.
func TestFilterFollowsTable(t *testing.T) {
	k := NewKernel("test", nil, nil, nil)
	insns, err := k.Table().Filter()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := bpf.Compile(insns, false)
	if err != nil {
		t.Fatalf("filter does not compile: %v", err)
	}
	const (
		allow = uint32(linux.SECCOMP_RET_ALLOW)
		trace = uint32(linux.SECCOMP_RET_TRACE)
	)
	errno := func(e unix.Errno) uint32 { return uint32(linux.SECCOMP_RET_ERRNO) | uint32(e) }
	arch := uint32(linux.AUDIT_ARCH_X86_64)
	cases := []struct {
		name string
		data linux.SeccompData
		want uint32
	}{
		{"getpid runs natively", linux.SeccompData{Nr: unix.SYS_GETPID, Arch: arch}, allow},
		{"read runs natively", linux.SeccompData{Nr: unix.SYS_READ, Arch: arch}, allow},
		{"kill is trapped", linux.SeccompData{Nr: unix.SYS_KILL, Arch: arch}, trace},
		{"wait4 is trapped", linux.SeccompData{Nr: unix.SYS_WAIT4, Arch: arch}, trace},
		{"clone is trapped", linux.SeccompData{Nr: unix.SYS_CLONE, Arch: arch}, trace},
		{"clone3 is ENOSYS", linux.SeccompData{Nr: unix.SYS_CLONE3, Arch: arch}, errno(unix.ENOSYS)},
		{"io_uring_setup is ENOSYS", linux.SeccompData{Nr: unix.SYS_IO_URING_SETUP, Arch: arch}, errno(unix.ENOSYS)},
		{"rt_sigaction(SIGCHLD) is trapped", linux.SeccompData{Nr: unix.SYS_RT_SIGACTION, Arch: arch, Args: [6]uint64{uint64(unix.SIGCHLD)}}, trace},
		{"rt_sigaction(SIGINT) runs natively", linux.SeccompData{Nr: unix.SYS_RT_SIGACTION, Arch: arch, Args: [6]uint64{uint64(unix.SIGINT)}}, allow},
		{"rt_sigaction(SIGCHLD) with garbage high bits is trapped", linux.SeccompData{Nr: unix.SYS_RT_SIGACTION, Arch: arch, Args: [6]uint64{0xdead000000000000 | uint64(unix.SIGCHLD)}}, trace},
		{"prctl(PR_SET_CHILD_SUBREAPER) is trapped", linux.SeccompData{Nr: unix.SYS_PRCTL, Arch: arch, Args: [6]uint64{unix.PR_SET_CHILD_SUBREAPER}}, trace},
		{"prctl(PR_SET_NAME) runs natively", linux.SeccompData{Nr: unix.SYS_PRCTL, Arch: arch, Args: [6]uint64{unix.PR_SET_NAME}}, allow},
		{"getrusage(RUSAGE_CHILDREN) is trapped", linux.SeccompData{Nr: unix.SYS_GETRUSAGE, Arch: arch, Args: [6]uint64{0xffffffff}}, trace},
		{"getrusage(RUSAGE_SELF) runs natively", linux.SeccompData{Nr: unix.SYS_GETRUSAGE, Arch: arch}, allow},
		{"process_vm_readv of herd-init is trapped", linux.SeccompData{Nr: unix.SYS_PROCESS_VM_READV, Arch: arch, Args: [6]uint64{1}}, trace},
		{"process_vm_readv of a sandboxed pid runs natively", linux.SeccompData{Nr: unix.SYS_PROCESS_VM_READV, Arch: arch, Args: [6]uint64{5000}}, allow},
		{"an x32 syscall number is ENOSYS", linux.SeccompData{Nr: unix.SYS_KILL | 0x40000000, Arch: arch}, errno(unix.ENOSYS)},
		{"an i386 syscall is ENOSYS", linux.SeccompData{Nr: 37, Arch: 0x40000003 /* AUDIT_ARCH_I386 */}, errno(unix.ENOSYS)},
	}
	for _, c := range cases {
		got, err := bpf.Exec[bpf.NativeEndian](prog, seccomp.DataAsBPFInput(&c.data, make([]byte, 64)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: filter says %#x, want %#x", c.name, got, c.want)
		}
	}
}

// Every trapped or denied row says what herd does: the note is what
// docs/syscalls.md shows users.
func TestEveryRowHasANote(t *testing.T) {
	for _, r := range NewKernel("test", nil, nil, nil).Table().Rows() {
		if r.Note == "" || r.Name == "" {
			t.Errorf("syscall %d (%q) has no support note", r.Nr, r.Name)
		}
		if (r.Disp == sentry.Trap || r.Disp == sentry.Notify) && r.Handler == nil {
			t.Errorf("trapped %s has no handler", r.Name)
		}
		if r.Disp == sentry.Notify && r.Answer == nil {
			t.Errorf("notified %s has no answer", r.Name)
		}
	}
}
