package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// A launched program's exit is reaped for its launcher, whose record is
// then retired; the launcher's signals reach the program's group.
func TestLaunchReapsItsProgram(t *testing.T) {
	r := newRig(t)
	if err := r.space.AddVirtual(4999, pidspace.Creds{RUID: 1000}, "herd-run"); err != nil {
		t.Fatal(err)
	}
	var status []unix.WaitStatus
	exited := func(ws unix.WaitStatus) { status = append(status, ws) }
	r.k.launches.spawned(sentry.SpawnSpec{Argv: []string{"prog"}, Session: true}, pidspace.Creds{RUID: 1000}, 4999, 5000, exited)
	r.task(5000)
	if got := r.k.LauncherOf(5000); got != 4999 {
		t.Fatalf("LauncherOf(5000) = %d", got)
	}
	r.k.SignalLaunch(4999, int(unix.SIGINT))
	if len(r.sig.sent) != 1 || r.sig.sent[0].target.PID != 5000 || r.sig.sent[0].info.Code() != siKernel {
		t.Fatalf("SignalLaunch sent %+v, want SIGINT from the kernel to 5000", r.sig.sent)
	}
	r.exit(5000, unix.WaitStatus(3<<8), nil)
	if len(status) != 1 || status[0].ExitStatus() != 3 {
		t.Fatalf("exited with %v, want one exit 3", status)
	}
	if _, ok := r.space.Lookup(4999); ok || r.k.LauncherOf(5000) != 0 {
		t.Error("launcher's record or launch outlives its program")
	}
}
