package pidspace

import (
	"math"
	"reflect"
	"syscall"
	"testing"
)

// Fixture, session 100 (launcher, user 1000):
//
//	200 user, group 200; children in group 200: 201 user, 202 uid 2000,
//	203 user zombie, 205 root with saved uid 1000, 206 uid 3000.
//
// Session 300 (launcher, uid 2000): 400 uid 2000, 401 uid 4000, 500 root.
func newSignalFixture(t *testing.T) *Space {
	t.Helper()
	s, _ := newTestSpace(t)
	for _, c := range []int{201, 202, 203, 205, 206} {
		ok(t, s.Fork(200, c, sigchld))
	}
	ok(t, s.SetCreds(202, otherCreds))
	ok(t, s.SetCreds(205, Creds{RUID: 0, EUID: 0, SUID: 1000}))
	ok(t, s.SetCreds(206, Creds{RUID: 3000, EUID: 3000, SUID: 3000}))
	_, err := s.Exit(203, ExitedStatus(0), Rusage{})
	ok(t, err)
	ok(t, s.AddVirtual(300, otherCreds, "sh"))
	ok(t, s.Spawn(SpawnArgs{PPID: 300, PID: 400, Creds: otherCreds}))
	ok(t, s.Spawn(SpawnArgs{PPID: 300, PID: 401, Creds: Creds{RUID: 4000, EUID: 4000, SUID: 4000}}))
	ok(t, s.Spawn(SpawnArgs{PPID: 300, PID: 500, Creds: rootCreds}))
	return s
}

func TestSignalTargets(t *testing.T) {
	term, cont := int(syscall.SIGTERM), int(syscall.SIGCONT)
	tg := func(pids ...int) []Target {
		var out []Target
		for _, p := range pids {
			out = append(out, Target{PID: p, Node: "a", Home: "a", Virtual: p == 100 || p == 300})
		}
		return out
	}
	tests := []struct {
		name             string
		sender, pid, sig int
		want             []Target
		err              error
	}{
		// pid > 0
		{"same user", 200, 201, term, tg(201), nil},
		{"self", 206, 206, term, tg(206), nil},
		{"other user", 200, 202, term, nil, syscall.EPERM},
		{"SIGCONT in the session", 200, 202, cont, tg(202), nil},
		{"SIGCONT across sessions", 200, 400, cont, nil, syscall.EPERM},
		{"saved uid matches euid", 200, 205, term, tg(205), nil},
		{"real uid matches (sender is setuid)", 205, 201, term, tg(201), nil},
		{"root", 500, 206, term, tg(206), nil},
		{"zombie: success, nothing delivered", 200, 203, term, nil, nil},
		{"zombie still checks permission", 206, 203, term, nil, syscall.EPERM},
		{"probe", 200, 201, 0, nil, nil},
		{"probe without permission", 200, 202, 0, nil, syscall.EPERM},
		{"no such process", 200, 999, term, nil, syscall.ESRCH},
		{"ESRCH before EINVAL", 200, 999, -1, nil, syscall.ESRCH},
		{"bad signal", 200, 201, 65, nil, syscall.EINVAL},
		{"negative signal", 200, 201, -1, nil, syscall.EINVAL},
		{"launcher by pid is the caller's to decide", 200, 100, term, tg(100), nil},
		{"init by pid", 500, 1, term, tg(1), nil},
		{"init refuses users", 200, 1, term, nil, syscall.EPERM},

		// process groups
		{"own group", 200, 0, term, tg(200, 201, 205), nil},
		{"group by id", 201, -200, term, tg(200, 201, 205), nil},
		{"group, some permitted", 400, -200, term, tg(202), nil},
		{"group, none permitted", 401, -200, term, nil, syscall.EPERM},
		{"group SIGCONT from the session", 206, -200, cont, tg(200, 201, 202, 205, 206), nil},
		{"group probe", 201, -200, 0, nil, nil},
		{"group bad signal", 200, -200, 65, nil, syscall.EINVAL},
		{"empty group bad signal", 200, -777, 65, nil, syscall.ESRCH},
		{"no such group", 200, -777, term, nil, syscall.ESRCH},
		{"launcher's group is never a target", 200, -100, term, nil, syscall.ESRCH},
		{"INT_MIN", 200, math.MinInt32, term, nil, syscall.ESRCH},

		// kill(-1): everything but init, self and launchers
		{"-1 as user", 200, -1, term, tg(201, 205), nil},
		{"-1 as root", 500, -1, term, tg(200, 201, 202, 205, 206, 400, 401), nil},
		{"-1 none permitted is success on Linux", 401, -1, term, nil, nil},
		{"-1 SIGCONT reaches the session", 206, -1, cont, tg(200, 201, 202, 205), nil},
		{"-1 bad signal", 200, -1, 65, nil, syscall.EINVAL},
		{"-1 probe", 200, -1, 0, nil, nil},

		{"unknown sender", 999, 201, term, nil, syscall.ESRCH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSignalFixture(t)
			got, err := s.SignalTargets(tt.sender, tt.pid, tt.sig)
			got = unmarked(got)
			if err != tt.err || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SignalTargets(%d, %d, %d) = %v, %v; want %v, %v", tt.sender, tt.pid, tt.sig, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestKillMinusOneAlone(t *testing.T) {
	s, _ := newTestSpace(t) // init, launcher 100, program 200
	if got, err := s.SignalTargets(200, -1, int(syscall.SIGTERM)); err != syscall.ESRCH || got != nil {
		t.Errorf("kill(-1) with nobody else = %v, %v; want ESRCH", got, err)
	}
}

// unmarked is targets without their group marks (TestGroupSend checks
// those).
func unmarked(targets []Target) []Target {
	for i := range targets {
		targets[i].Group = GroupSend{}
	}
	return targets
}

// A group send marks its targets with the node that listed them and its
// fork count then; BornSince finds what a member forked afterwards, in
// its group, at any depth, and nothing listed before or outside it.
func TestGroupSend(t *testing.T) {
	s := newSignalFixture(t)
	term := int(syscall.SIGTERM)
	got, err := s.SignalTargets(200, -200, term)
	if err != nil || len(got) == 0 {
		t.Fatalf("SignalTargets = %v, %v", got, err)
	}
	mark := got[0].Group
	if mark.PGID != 200 || mark.At != "a" || mark.Seen == 0 {
		t.Fatalf("mark %+v, want group 200 listed at a after the fixture's forks", mark)
	}
	for _, tg := range got {
		if tg.Group != mark {
			t.Errorf("target %d marked %+v, want %+v", tg.PID, tg.Group, mark)
		}
	}
	if one, _ := s.SignalTargets(200, 201, term); len(one) != 1 || one[0].Group != (GroupSend{}) {
		t.Errorf("kill of one process marked: %+v", one)
	}
	if b := s.BornSince(200, mark); len(b) != 0 {
		t.Errorf("BornSince right after listing = %v, want none", b)
	}
	// Forked after the listing: 210 by 200, 211 by 210 (a grandchild),
	// 212 by 200 but moved to another group, 213 by 201.
	ok(t, s.Fork(200, 210, sigchld))
	ok(t, s.Fork(210, 211, sigchld))
	ok(t, s.Fork(200, 212, sigchld))
	ok(t, s.Setpgid(212, 212, 212))
	ok(t, s.Fork(201, 213, sigchld))
	pids := func(ts []Target) []int {
		var out []int
		for _, tg := range ts {
			out = append(out, tg.PID)
		}
		return out
	}
	if got := pids(s.BornSince(200, mark)); !reflect.DeepEqual(got, []int{210, 211}) {
		t.Errorf("BornSince(200) = %v, want [210 211]", got)
	}
	if got := pids(s.BornSince(201, mark)); !reflect.DeepEqual(got, []int{213}) {
		t.Errorf("BornSince(201) = %v, want [213]", got)
	}
	all := mark
	all.PGID = -1
	if got := pids(s.BornSince(200, all)); !reflect.DeepEqual(got, []int{210, 211, 212}) {
		t.Errorf("BornSince(200) for kill(-1) = %v, want [210 211 212]", got)
	}
	// Made here but listed by another node (answering for it while it
	// moved): that node's count means nothing here, and its delivery
	// is the one.
	elsewhere := GroupSend{PGID: 200, At: "b", Seen: 1 << 40}
	if got := s.BornSince(200, elsewhere); got != nil {
		t.Errorf("BornSince(200) listed elsewhere = %v, want none", got)
	}
	if s.BornSince(200, GroupSend{}) != nil {
		t.Errorf("BornSince of a signal to one process is not empty")
	}
}
