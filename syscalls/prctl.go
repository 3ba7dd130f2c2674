package syscalls

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// prctl emulates the options that concern the POSIX tree (the filter
// traps only these): the kernel's own would act on the flat kernel tree,
// where herd-init is every parent.
func (k *Kernel) prctl(t task) action {
	pid := caller(t)
	switch int(t.Arg(0)) {
	case unix.PR_SET_PDEATHSIG:
		sig := int(t.Arg(1))
		if sig < 0 || sig > linux.SignalMaximum {
			return fail(unix.EINVAL)
		}
		return result(0, k.procs.SetPdeathsig(pid, sig))
	case unix.PR_GET_PDEATHSIG:
		sig, err := k.procs.Pdeathsig(pid)
		if err != nil {
			return fail(errno(err))
		}
		return putInt32(t, t.Arg(1), int32(sig))
	case unix.PR_SET_CHILD_SUBREAPER:
		return result(0, k.procs.SetSubreaper(pid, t.Arg(1) != 0))
	case unix.PR_GET_CHILD_SUBREAPER:
		on, err := k.procs.Subreaper(pid)
		if err != nil {
			return fail(errno(err))
		}
		v := int32(0)
		if on {
			v = 1
		}
		return putInt32(t, t.Arg(1), v)
	}
	return native()
}

// putInt32 stores v at addr and returns 0, or EFAULT.
func putInt32(t task, addr uintptr, v int32) action {
	if err := writeInt32(t, addr, v); err != nil {
		return fail(unix.EFAULT)
	}
	return ret(0)
}
