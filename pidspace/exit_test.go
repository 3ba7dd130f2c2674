package pidspace

import (
	"errors"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestExitNotifiesParent(t *testing.T) {
	usage := Rusage{Utime: 3 * time.Millisecond, Stime: time.Millisecond, Maxrss: 900}
	usr1 := int(syscall.SIGUSR1)
	tests := []struct {
		name        string
		action      SigchldAction
		exitSignal  int
		parentExecs bool // between the fork and the exit
		status      WaitStatus
		wantSig     int // 0: no notification
		wantCode    int
		wantStatus  int
		wantReaped  bool
	}{
		{"exit code", SigchldAction{}, sigchld, false, ExitedStatus(3), sigchld, CLD_EXITED, 3, false},
		{"killed", SigchldAction{}, sigchld, false, KilledStatus(syscall.SIGKILL, false), sigchld, CLD_KILLED, 9, false},
		{"dumped", SigchldAction{}, sigchld, false, KilledStatus(syscall.SIGSEGV, true), sigchld, CLD_DUMPED, 11, false},
		{"SA_NOCLDSTOP does not matter", SigchldAction{NoCldStop: true}, sigchld, false, ExitedStatus(0), sigchld, CLD_EXITED, 0, false},
		{"SIG_IGN: reaped, no signal", SigchldAction{Ignored: true}, sigchld, false, ExitedStatus(1), 0, 0, 0, true},
		{"SA_NOCLDWAIT: reaped, signal sent", SigchldAction{NoCldWait: true}, sigchld, false, ExitedStatus(1), sigchld, CLD_EXITED, 1, true},
		{"exit signal 0: zombie, no signal", SigchldAction{}, 0, false, ExitedStatus(0), 0, 0, 0, false},
		{"clone child signals its own signal", SigchldAction{}, usr1, false, ExitedStatus(0), usr1, CLD_EXITED, 0, false},
		{"clone child not auto-reaped", SigchldAction{Ignored: true}, usr1, false, ExitedStatus(0), usr1, CLD_EXITED, 0, false},
		{"parent exec'd: SIGCHLD instead", SigchldAction{}, usr1, true, ExitedStatus(0), sigchld, CLD_EXITED, 0, false},
		{"parent exec'd and ignores: reaped", SigchldAction{Ignored: true}, usr1, true, ExitedStatus(0), 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestSpace(t)
			ok(t, s.Fork(200, 201, tt.exitSignal))
			if tt.parentExecs {
				ok(t, s.Exec(200, "x", "x"))
			}
			ok(t, s.SetSigchldAction(200, tt.action))
			eff, err := s.Exit(201, tt.status, usage)
			ok(t, err)
			var want []Notification
			if tt.wantSig != 0 {
				want = []Notification{{
					Parent: Target{PID: 200, Node: "a", Home: "a"},
					Signal: tt.wantSig,
					Info: ChildInfo{PID: 201, UID: 1000, Code: tt.wantCode, Status: tt.wantStatus,
						Utime: usage.Utime, Stime: usage.Stime},
				}}
			}
			if !reflect.DeepEqual(eff.Notify, want) {
				t.Errorf("Notify = %+v, want %+v", eff.Notify, want)
			}
			if !slices.Equal(eff.Retry, []int{200}) {
				t.Errorf("Retry = %v, want [200]", eff.Retry)
			}
			_, kept := s.Lookup(201)
			if reaped := slices.Contains(eff.Reaped, 201); reaped != tt.wantReaped || kept == reaped {
				t.Errorf("reaped %v (record kept %v), want reaped %v", reaped, kept, tt.wantReaped)
			}
			if kept {
				p := lookup(t, s, 201)
				if p.State != Zombie || p.Status != tt.status || p.Usage != usage {
					t.Errorf("zombie = %+v", p)
				}
			}
		})
	}
}

func TestExitErrors(t *testing.T) {
	s, _ := newTestSpace(t)
	if _, err := s.Exit(InitPID, ExitedStatus(0), Rusage{}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("exit of init = %v", err)
	}
	if _, err := s.Exit(999, ExitedStatus(0), Rusage{}); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("exit of missing = %v", err)
	}
	_, err := s.Exit(200, ExitedStatus(0), Rusage{})
	ok(t, err)
	if _, err := s.Exit(200, ExitedStatus(0), Rusage{}); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("second exit = %v", err)
	}
}

// tree builds: 200 (prog) -> 201 -> 202, 203(zombie), 204(pdeathsig),
// and 201 forks with the given subreapers set beforehand.
type reparentCase struct {
	name       string
	subreapers []int // set before the exit of 201
	ignoring   []int // processes with SIGCHLD ignored
	wantParent int
}

func TestExitReparents(t *testing.T) {
	tests := []reparentCase{
		{"to init", nil, nil, InitPID},
		{"to the program as subreaper", []int{200}, nil, 200},
		{"to the launcher as subreaper", []int{100}, nil, 100},
		{"nearest subreaper wins", []int{100, 200}, nil, 200},
		{"subreaper that ignores SIGCHLD", []int{200}, []int{200}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkExitReparents(t, tt) })
	}
}

// checkExitReparents runs one case of TestExitReparents: 201 (with
// children 202, zombie 203 and 204 with a death signal) exits.
func checkExitReparents(t *testing.T, tt reparentCase) {
	s, _ := newTestSpace(t)
	ok(t, s.Fork(200, 201, sigchld))
	ok(t, s.Fork(201, 202, sigchld))
	ok(t, s.Fork(201, 203, int(syscall.SIGUSR1)))
	ok(t, s.Fork(201, 204, sigchld))
	ok(t, s.SetPdeathsig(204, int(syscall.SIGTERM)))
	ok(t, s.SetPdeathsig(203, int(syscall.SIGTERM))) // a zombie gets none
	_, err := s.Exit(203, ExitedStatus(7), Rusage{})
	ok(t, err)
	for _, pid := range tt.subreapers {
		ok(t, s.SetSubreaper(pid, true))
	}
	for _, pid := range tt.ignoring {
		ok(t, s.SetSigchldAction(pid, SigchldAction{Ignored: true}))
	}

	eff, err := s.Exit(201, ExitedStatus(0), Rusage{})
	ok(t, err)
	reaper := lookup(t, s, tt.wantParent)
	wantTo := Target{PID: tt.wantParent, Node: "a", Home: "a", Virtual: reaper.Virtual}
	wantRep := []Reparenting{{202, wantTo}, {203, wantTo}, {204, wantTo}}
	if !reflect.DeepEqual(eff.Reparented, wantRep) {
		t.Errorf("Reparented = %+v, want %+v", eff.Reparented, wantRep)
	}
	wantDeath := []DeathSignal{{Target{PID: 204, Node: "a", Home: "a"}, int(syscall.SIGTERM), 201}}
	if !reflect.DeepEqual(eff.DeathSignals, wantDeath) {
		t.Errorf("DeathSignals = %+v, want %+v", eff.DeathSignals, wantDeath)
	}
	for _, pid := range []int{202, 204} {
		if p := lookup(t, s, pid); p.PPID != tt.wantParent {
			t.Errorf("%d's parent = %d, want %d", pid, p.PPID, tt.wantParent)
		}
	}
	// The zombie 203: reaped at once by init or an ignoring
	// subreaper, else reported to the subreaper with SIGCHLD (its
	// exit signal is reset on reparenting).
	autoreap := tt.wantParent == InitPID || slices.Contains(tt.ignoring, tt.wantParent)
	if got := slices.Contains(eff.Reaped, 203); got != autoreap {
		t.Errorf("203 reaped = %v, want %v", got, autoreap)
	}
	if !autoreap {
		if p := lookup(t, s, 203); p.PPID != tt.wantParent || p.ExitSignal != sigchld {
			t.Errorf("zombie 203 = %+v", p)
		}
		n := eff.Notify[0]
		if n.Parent.PID != tt.wantParent || n.Signal != sigchld || n.Info.PID != 203 || n.Info.Status != 7 {
			t.Errorf("zombie notification = %+v", n)
		}
		res, err := s.Wait(tt.wantParent, Wait4(203, unix.WNOHANG))
		ok(t, err)
		if res.PID != 203 {
			t.Errorf("subreaper's wait = %+v", res)
		}
	}
	// 201's own parent 200 is notified last (unless it ignores
	// SIGCHLD) and retried.
	if !slices.Contains(tt.ignoring, 200) {
		if last := eff.Notify[len(eff.Notify)-1]; last.Info.PID != 201 || last.Parent.PID != 200 {
			t.Errorf("last notification = %+v", last)
		}
	}
	if !slices.Contains(eff.Retry, 200) || !slices.Contains(eff.Retry, tt.wantParent) {
		t.Errorf("Retry = %v", eff.Retry)
	}
	// The live reparented children exit later: to the new parent.
	eff, err = s.Exit(202, ExitedStatus(0), Rusage{})
	ok(t, err)
	if tt.wantParent == InitPID && (len(eff.Notify) != 0 || !slices.Equal(eff.Reaped, []int{202})) {
		t.Errorf("orphan exit under init: %+v", eff)
	}
}

// Job-control fixture: launcher 100 (session 100) -> program 200 (group
// 200). 200 forks 201 and 202; 202 moves to its own group 202.
func TestExitOrphansStoppedGroups(t *testing.T) {
	hupTo := func(pgid int, pids ...int) OrphanedGroup {
		g := OrphanedGroup{PGID: pgid}
		for _, p := range pids {
			g.Members = append(g.Members, Target{PID: p, Node: "a", Home: "a"})
		}
		return g
	}
	tests := []orphanCase{
		{
			name:    "child group loses its only link",
			setup:   func(t *testing.T, s *Space) { stop(t, s, 202) },
			exiting: 200,
			want:    []OrphanedGroup{hupTo(202, 202, 203)},
		},
		{
			name:    "no stopped member: nothing",
			setup:   func(t *testing.T, s *Space) {},
			exiting: 200,
		},
		{
			name: "subreaper in the session keeps the link",
			setup: func(t *testing.T, s *Space) {
				stop(t, s, 203)
				ok(t, s.SetSubreaper(100, true))
			},
			exiting: 200,
		},
		{
			name:    "own group orphaned when the link was the exiting process",
			setup:   func(t *testing.T, s *Space) { stop(t, s, 201) },
			exiting: 200,
			want:    []OrphanedGroup{hupTo(200, 201)},
		},
		{
			name: "own group keeps another link",
			setup: func(t *testing.T, s *Space) {
				stop(t, s, 201)
				// 205 in group 200 is a child of launcher-session process 202.
				ok(t, s.Fork(202, 205, sigchld))
				ok(t, s.Setpgid(202, 205, 200))
			},
			exiting: 200,
			want:    nil,
		},
		{
			name: "exit of a member that was no link",
			setup: func(t *testing.T, s *Space) {
				stop(t, s, 203)
			},
			exiting: 203, // its parent 202 is in the same group
		},
		{
			name:    "launcher exit orphans the job",
			setup:   func(t *testing.T, s *Space) { stop(t, s, 201) },
			exiting: 100,
			want:    []OrphanedGroup{hupTo(200, 200, 201)},
		},
		{
			name: "other session is no link",
			setup: func(t *testing.T, s *Space) {
				stop(t, s, 203)
				ok(t, s.Fork(200, 206, sigchld))
				_, err := s.Setsid(206)
				ok(t, err)
			},
			exiting: 206, // 206 has no children and its parent is in another session
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkOrphanCase(t, tt) })
	}
}

type orphanCase struct {
	name    string
	setup   func(t *testing.T, s *Space)
	exiting int
	want    []OrphanedGroup
}

// checkOrphanCase runs one case of TestExitOrphansStoppedGroups: 200 has
// children 201 (its group) and 202 (group 202, with child 203).
func checkOrphanCase(t *testing.T, tt orphanCase) {
	s, _ := newTestSpace(t)
	ok(t, s.Fork(200, 201, sigchld))
	ok(t, s.Fork(200, 202, sigchld))
	ok(t, s.Setpgid(200, 202, 0))
	ok(t, s.Fork(202, 203, sigchld)) // in group 202
	tt.setup(t, s)
	before202 := s.OrphanedPgrp(202)
	eff, err := s.Exit(tt.exiting, KilledStatus(syscall.SIGKILL, false), Rusage{})
	ok(t, err)
	if !reflect.DeepEqual(eff.OrphanedGroups, tt.want) {
		t.Errorf("OrphanedGroups = %+v, want %+v", eff.OrphanedGroups, tt.want)
	}
	for _, g := range tt.want {
		if !s.OrphanedPgrp(g.PGID) {
			t.Errorf("OrphanedPgrp(%d) = false after exit", g.PGID)
		}
	}
	if before202 {
		t.Errorf("group 202 orphaned before any exit")
	}
}

func stop(t *testing.T, s *Space, pid int) {
	t.Helper()
	_, err := s.Stopped(pid, int(syscall.SIGTSTP))
	ok(t, err)
}

func TestOrphanedPgrp(t *testing.T) {
	s, _ := newTestSpace(t)
	ok(t, s.Fork(200, 201, sigchld))
	tests := []struct {
		pgid int
		want bool
	}{
		{200, false}, // linked through the launcher, like a shell job
		{100, true},  // the launcher's group: its parent is init
		{555, true},  // empty: vacuously orphaned, as the kernel says
	}
	for _, tt := range tests {
		if got := s.OrphanedPgrp(tt.pgid); got != tt.want {
			t.Errorf("OrphanedPgrp(%d) = %v, want %v", tt.pgid, got, tt.want)
		}
	}
}

func TestStoppedAndContinued(t *testing.T) {
	stopInfo := ChildInfo{PID: 201, UID: 1000, Code: CLD_STOPPED, Status: int(syscall.SIGTSTP)}
	contInfo := ChildInfo{PID: 201, UID: 1000, Code: CLD_CONTINUED, Status: int(syscall.SIGCONT)}
	tests := []struct {
		name   string
		action SigchldAction
		notify bool
	}{
		{"default", SigchldAction{}, true},
		{"SA_NOCLDSTOP", SigchldAction{NoCldStop: true}, false},
		{"SIG_IGN", SigchldAction{Ignored: true}, false},
		{"SA_NOCLDWAIT only", SigchldAction{NoCldWait: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestSpace(t)
			// A clone child still reports stops with SIGCHLD.
			ok(t, s.Fork(200, 201, int(syscall.SIGUSR2)))
			ok(t, s.SetSigchldAction(200, tt.action))
			for _, step := range []struct {
				do   func() (Effects, error)
				info ChildInfo
			}{
				{func() (Effects, error) { return s.Stopped(201, int(syscall.SIGTSTP)) }, stopInfo},
				{func() (Effects, error) { return s.Continued(201) }, contInfo},
			} {
				eff, err := step.do()
				ok(t, err)
				var want []Notification
				if tt.notify {
					want = []Notification{{Parent: Target{PID: 200, Node: "a", Home: "a"}, Signal: sigchld, Info: step.info}}
				}
				if !reflect.DeepEqual(eff.Notify, want) || !slices.Equal(eff.Retry, []int{200}) {
					t.Errorf("effects = %+v, want notify %+v and retry [200]", eff, want)
				}
			}
		})
	}
	t.Run("no event without a state change", func(t *testing.T) {
		s, _ := newTestSpace(t)
		ok(t, s.Fork(200, 201, sigchld))
		eff, err := s.Continued(201)
		ok(t, err)
		if !reflect.DeepEqual(eff, Effects{}) {
			t.Errorf("continue of running: %+v", eff)
		}
		stop(t, s, 201)
		eff, err = s.Stopped(201, int(syscall.SIGSTOP))
		ok(t, err)
		if !reflect.DeepEqual(eff, Effects{}) {
			t.Errorf("stop of stopped: %+v", eff)
		}
		if p := lookup(t, s, 201); p.State != Stopped || p.StopSignal != int(syscall.SIGTSTP) {
			t.Errorf("stopped = %+v", p)
		}
		if _, err := s.Stopped(201, 0); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("Stopped(sig 0) = %v", err)
		}
		if _, err := s.Stopped(999, 19); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("Stopped(missing) = %v", err)
		}
	})
}
