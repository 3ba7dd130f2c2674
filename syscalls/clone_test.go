package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestCloneRewritesFlags(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	cases := []struct {
		name      string
		nr        int
		flags     uint64
		want      uint64
		thread    bool
		asksOwner bool // the caller's own CLONE_PARENT
	}{
		{"fork", unix.SYS_FORK, 0, unix.CLONE_PARENT | uint64(unix.SIGCHLD), false, false},
		{"vfork", unix.SYS_VFORK, 0, unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_PARENT | uint64(unix.SIGCHLD), false, false},
		{"clone process, untraced", unix.SYS_CLONE, unix.CLONE_UNTRACED | uint64(unix.SIGCHLD), unix.CLONE_PARENT | uint64(unix.SIGCHLD), false, false},
		{"clone thread", unix.SYS_CLONE, unix.CLONE_THREAD | unix.CLONE_VM | unix.CLONE_SIGHAND | unix.CLONE_UNTRACED,
			unix.CLONE_THREAD | unix.CLONE_VM | unix.CLONE_SIGHAND, true, false},
		{"clone with its own CLONE_PARENT", unix.SYS_CLONE, unix.CLONE_PARENT | uint64(unix.SIGUSR1), unix.CLONE_PARENT | uint64(unix.SIGUSR1), false, true},
	}
	for _, c := range cases {
		p.args = [6]uintptr{uintptr(c.flags), 1, 2, 3, 4, 5}
		p.sysno = c.nr
		a := r.k.clone(p)
		if a.kind != actSentry || p.cloned == nil {
			t.Fatalf("%s: got %s, want the sentry's clone", c.name, a)
		}
		if p.sysno != unix.SYS_CLONE || uint64(p.args[0]) != c.want {
			t.Errorf("%s: runs as syscall %d flags %#x, want clone %#x", c.name, p.sysno, p.args[0], c.want)
		}
		if c.nr != unix.SYS_CLONE && p.args != [6]uintptr{uintptr(c.want), 0, 0, 0, 0, 5} {
			t.Errorf("%s: arguments %v, want the flags and zeros", c.name, p.args)
		}
		op := p.cloned
		req := op.Value.(*cloneRequest)
		if op.Thread != c.thread || op.Flags&unix.CLONE_UNTRACED != c.flags&unix.CLONE_UNTRACED || req.parent != c.asksOwner {
			t.Errorf("%s: op thread=%v flags=%#x parent=%v", c.name, op.Thread, op.Flags, req.parent)
		}
		if !c.thread && req.exitSignal != int(c.want&0xff) {
			t.Errorf("%s: exit signal %d", c.name, req.exitSignal)
		}
		p.cloned = nil
	}
}

// A clone's op tells the sentry which PIDs the process model holds, so a
// new process is never given one (a zombie's, a launcher's) by the kernel.
func TestCloneOpKnowsTakenPIDs(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	p.args = [6]uintptr{uintptr(unix.SIGCHLD)}
	p.sysno = unix.SYS_FORK
	r.k.clone(p)
	op := p.cloned
	if op == nil || op.Taken == nil {
		t.Fatalf("clone op %v has no Taken", op)
	}
	if !op.Taken(5000) {
		t.Errorf("Taken(5000) = false for a recorded process")
	}
	if op.Taken(5999) {
		t.Errorf("Taken(5999) = true for a PID nothing holds")
	}
}
