package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSetpgidDecisions(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	c := r.fork(5000, 5001)
	r.spawn(6000, 1000)
	wantErrno(t, "not a child", call(r.k.setpgid, p, unix.SYS_SETPGID, 6000, 6000), unix.ESRCH)
	wantErrno(t, "negative pgid", call(r.k.setpgid, p, unix.SYS_SETPGID, 0, uintptr(^uint(0))), unix.EINVAL)
	wantErrno(t, "group in another session", call(r.k.setpgid, p, unix.SYS_SETPGID, 5001, 6000), unix.EPERM)
	wantErrno(t, "session leader", call(r.k.setpgid, p, unix.SYS_SETPGID, 0, 0), unix.EPERM)

	// The child moves itself: decided here, mirrored by the kernel,
	// whose disagreement is overruled.
	a := call(r.k.setpgid, c, unix.SYS_SETPGID, 0, 0)
	finish(t, a, c, -int64(unix.EPERM))
	if c.returned == nil || *c.returned != 0 {
		t.Errorf("kernel's error not overruled: %v", c.returned)
	}
	if pg, _ := r.space.Getpgid(5001); pg != 5001 {
		t.Errorf("pgid %d, want 5001", pg)
	}
}

// Moving another process injects the call into it; the caller parks
// until the injection has run, or returns at once if it cannot run.
func TestSetpgidOfAChildParksForTheInjection(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	c := r.fork(5000, 5001)
	c.injectOK = true
	a := call(r.k.setpgid, p, unix.SYS_SETPGID, 5001, 0)
	if a.kind != actPark || len(c.injected) != 1 || c.injected[0] != unix.SYS_SETPGID {
		t.Fatalf("got %s, injected %v; want park and setpgid injected", a, c.injected)
	}
	c.done[0](0)
	if len(p.woken) != 1 || p.woken[0] != 0 {
		t.Errorf("caller woken with %v, want [0]", p.woken)
	}
	c.injectOK = false
	wantReturn(t, "injection refused", call(r.k.setpgid, p, unix.SYS_SETPGID, 5001, 5000), 0)

	if err := r.space.Exec(5001, "sh", "sh"); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "child has exec'd", call(r.k.setpgid, p, unix.SYS_SETPGID, 5001, 5001), unix.EACCES)
}

func TestSessionsAndGroups(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	c := r.fork(5000, 5001)
	wantErrno(t, "setsid of a group leader", call(r.k.setsid, p, unix.SYS_SETSID), unix.EPERM)
	a := call(r.k.setsid, c, unix.SYS_SETSID)
	finish(t, a, c, 0)
	if c.returned == nil || *c.returned != 5001 {
		t.Errorf("setsid returned %v, want 5001", c.returned)
	}
	wantReturn(t, "getsid(0)", call(r.k.getsid, c, unix.SYS_GETSID, 0), 5001)
	wantReturn(t, "getsid(parent)", call(r.k.getsid, c, unix.SYS_GETSID, 5000), 5000)
	wantErrno(t, "getsid(none)", call(r.k.getsid, c, unix.SYS_GETSID, 5999), unix.ESRCH)
	wantReturn(t, "getpgid(0)", call(r.k.getpgid, c, unix.SYS_GETPGID, 0), 5001)
	wantErrno(t, "getpgid(none)", call(r.k.getpgid, c, unix.SYS_GETPGID, 5999), unix.ESRCH)
	wantReturn(t, "getpgrp", call(r.k.getpgrp, p, unix.SYS_GETPGRP), 5000)
}
