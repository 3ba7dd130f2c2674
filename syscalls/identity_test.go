package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"

	"herd/pidspace"
)

func TestGetppid(t *testing.T) {
	r := newRig(t)
	r.spawn(5000, 1000)
	c := r.fork(5000, 5001)
	wantReturn(t, "child", call(r.k.getppid, c, unix.SYS_GETPPID), 5000)
	ghost := newTask(5999, 0)
	wantErrno(t, "unknown process", call(r.k.getppid, ghost, unix.SYS_GETPPID), unix.ESRCH)
}

func TestSetidRecordsTheKernelsCredentials(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 0)
	p.creds = pidspace.Creds{RUID: 1000, EUID: 1000, SUID: 1000}
	a := call(r.k.setid, p, unix.SYS_SETUID, 1000)
	finish(t, a, p, -int64(unix.EPERM))
	if pr, _ := r.space.Lookup(5000); pr.Creds.RUID != 0 {
		t.Errorf("failed setuid recorded uid %d", pr.Creds.RUID)
	}
	finish(t, a, p, 0)
	if pr, _ := r.space.Lookup(5000); pr.Creds != p.creds {
		t.Errorf("recorded %+v, want %+v", pr.Creds, p.creds)
	}
}
