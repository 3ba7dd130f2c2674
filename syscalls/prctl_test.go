package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

func TestPrctlPdeathsig(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	wantErrno(t, "signal 65", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, linux.SignalMaximum+1), unix.EINVAL)
	wantReturn(t, "set SIGKILL", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL)), 0)
	wantReturn(t, "get", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, memBase), 0)
	if got := p.u32(memBase); got != uint32(unix.SIGKILL) {
		t.Errorf("pdeathsig %d, want SIGKILL", got)
	}
	wantErrno(t, "get to a bad pointer", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, badAddr), unix.EFAULT)
	wantNative(t, "PR_SET_NAME", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_SET_NAME, memBase))
}

func TestPrctlSubreaper(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	wantReturn(t, "get, off", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_GET_CHILD_SUBREAPER, memBase), 0)
	if got := p.u32(memBase); got != 0 {
		t.Errorf("subreaper %d before setting", got)
	}
	wantReturn(t, "set", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_SET_CHILD_SUBREAPER, 1), 0)
	wantReturn(t, "get, on", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_GET_CHILD_SUBREAPER, memBase), 0)
	if got := p.u32(memBase); got != 1 {
		t.Errorf("subreaper %d after setting", got)
	}
	wantErrno(t, "get to a bad pointer", call(r.k.prctl, p, unix.SYS_PRCTL, unix.PR_GET_CHILD_SUBREAPER, badAddr), unix.EFAULT)
	// An orphan of a subreaper's descendant goes to the subreaper.
	r.fork(5000, 5001)
	r.fork(5001, 5002)
	r.exit(5001, 0, nil)
	if pr, _ := r.space.Lookup(5002); pr.PPID != 5000 {
		t.Errorf("orphan's parent %d, want the subreaper 5000", pr.PPID)
	}
}
