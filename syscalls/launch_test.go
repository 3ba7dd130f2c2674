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

// launchRig fakes the sentry side of a launch: the stand-in and the
// program spawn at once with the PIDs asked for (the stand-in with
// standInPID instead, if set), and the node has no other task.
type launchRig struct {
	*rig
	standInPID int
	standIn    sentry.StandInSpec
	gone       func(unix.WaitStatus)
	program    sentry.SpawnSpec
	status     []unix.WaitStatus
}

func newLaunchRig(t *testing.T) *launchRig {
	lr := &launchRig{rig: newRig(t)}
	ls := lr.k.launches
	ls.taskCount = func() int { return 0 }
	ls.spawnStandIn = func(spec sentry.StandInSpec, started func(*sentry.StandIn, error), gone func(unix.WaitStatus)) {
		lr.standIn, lr.gone = spec, gone
		pid := spec.PID
		if lr.standInPID != 0 {
			pid = lr.standInPID
		}
		started(&sentry.StandIn{PID: pid}, nil)
	}
	ls.spawn = func(spec sentry.SpawnSpec, started func(*sentry.Task, error)) {
		lr.program = spec
		started(&sentry.Task{TID: spec.PID, TGID: spec.PID}, nil)
	}
	return lr
}

// launch runs a launch of uid 1000 and returns the launcher's and the
// program's PIDs.
func (lr *launchRig) launch() (lpid, pid int) {
	lr.t.Helper()
	creds := pidspace.Creds{RUID: 1000, EUID: 1000, SUID: 1000, RGID: 1000, EGID: 1000, SGID: 1000}
	parent := sentry.StandInSpec{Comm: "bash", UID: 1000, GID: 1000}
	var err error
	lr.k.Launch(sentry.SpawnSpec{Argv: []string{"prog"}}, parent, creds, func(p int, e error) { pid, err = p, e },
		func(ws unix.WaitStatus) { lr.status = append(lr.status, ws) })
	if err != nil {
		lr.t.Fatalf("launch: %v", err)
	}
	lr.task(pid)
	return lr.k.LauncherOf(pid), pid
}

// The launcher's stand-in is started with the launcher's PID and the
// caller's identity before the program, which waits for it; it ends with
// the launch.
func TestLaunchStandsInForTheLauncher(t *testing.T) {
	lr := newLaunchRig(t)
	lpid, pid := lr.launch()
	if lr.standIn.PID != lpid || lr.standIn.UID != 1000 || lr.standIn.Comm != "bash" {
		t.Fatalf("stand-in spec %+v, want PID %d, uid 1000, comm bash", lr.standIn, lpid)
	}
	if lr.program.Parent == nil || lr.program.Parent.PID != lpid {
		t.Fatalf("the program does not wait for its stand-in parent: %+v", lr.program.Parent)
	}
	if p, ok := lr.space.Lookup(pid); !ok || p.PPID != lpid {
		t.Fatalf("program's record %+v, want parent %d", p, lpid)
	}
	if p, ok := lr.space.Lookup(lpid); !ok || !p.Virtual {
		t.Fatalf("launcher's record %+v: want a virtual record", p)
	}
	lr.exit(pid, unix.WaitStatus(0), nil)
	if len(lr.status) != 1 || len(lr.k.launches.standIns) != 0 {
		t.Fatalf("after the program's exit: status %v, %d stand-ins left", lr.status, len(lr.k.launches.standIns))
	}
}

// A stand-in that got another PID (a herd-init thread took the one asked
// for) makes that the launcher's PID.
func TestLaunchTakesTheStandInsPID(t *testing.T) {
	lr := newLaunchRig(t)
	lr.standInPID = 4242
	lpid, pid := lr.launch()
	if lpid != 4242 {
		t.Fatalf("launcher PID %d, want the stand-in's 4242", lpid)
	}
	if p, _ := lr.space.Lookup(pid); p.PPID != 4242 {
		t.Fatalf("program's parent %d, want 4242", p.PPID)
	}
}

// A killed stand-in ends the launch as a shell's death would: the
// launcher is told its status, the program is reparented to init and
// runs on, and its later exit is nobody's launch.
func TestLaunchEndsWhenTheStandInDies(t *testing.T) {
	lr := newLaunchRig(t)
	lpid, pid := lr.launch()
	killed := unix.WaitStatus(unix.SIGKILL)
	lr.gone(killed)
	if len(lr.status) != 1 || lr.status[0] != killed {
		t.Fatalf("launcher told %v, want the stand-in's %v", lr.status, killed)
	}
	if _, ok := lr.space.Lookup(lpid); ok || lr.k.LauncherOf(pid) != 0 {
		t.Fatal("launcher's record or launch outlives its stand-in")
	}
	if p, ok := lr.space.Lookup(pid); !ok || p.PPID != pidspace.InitPID {
		t.Fatalf("program %+v, want it alive with parent %d", p, pidspace.InitPID)
	}
	lr.exit(pid, unix.WaitStatus(0), nil)
	if len(lr.status) != 1 {
		t.Fatalf("launcher told twice: %v", lr.status)
	}
}

// A stand-in that cannot start fails the launch before the program runs.
func TestLaunchFailsWithoutAStandIn(t *testing.T) {
	lr := newLaunchRig(t)
	lr.k.launches.spawnStandIn = func(spec sentry.StandInSpec, started func(*sentry.StandIn, error), gone func(unix.WaitStatus)) {
		started(nil, unix.EAGAIN)
	}
	var err error
	lr.k.Launch(sentry.SpawnSpec{Argv: []string{"prog"}}, sentry.StandInSpec{}, pidspace.Creds{},
		func(_ int, e error) { err = e }, func(unix.WaitStatus) {})
	if err == nil || lr.program.Argv != nil {
		t.Fatalf("launch err %v, program spawned %v: want an error and no program", err, lr.program.Argv)
	}
}
