package syscalls

import "golang.org/x/sys/unix"

// ptrace is refused: a sandboxed process may not trace; the sentry is
// the only tracer, and a second one would detach interception.
func (k *Kernel) ptrace(task) action { return fail(unix.EPERM) }

// processVMReadv and processVMWritev are trapped only for PIDs below the
// cluster's (the filter's match): herd-init's threads are outside the
// sandbox even though they share its namespace.
func (k *Kernel) processVMReadv(t task) action { return outsideSandbox(t) }

func (k *Kernel) processVMWritev(t task) action { return outsideSandbox(t) }

func outsideSandbox(t task) action {
	if pid := int(int32(t.Arg(0))); pid > 0 && pid <= herdInitMaxTID {
		return fail(unix.ESRCH)
	}
	return native()
}
