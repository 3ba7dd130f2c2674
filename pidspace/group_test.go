package pidspace

import (
	"syscall"
	"testing"
)

// Fixture: launcher 100 -> 200 (group 200, session 100) with children 201
// (fresh), 202 (exec'd), 203 (setsid: session 203); 201 -> 204. Launcher
// 300 -> 400 (group 400, session 300).
func newGroupFixture(t *testing.T) *Space {
	t.Helper()
	s, _ := newTestSpace(t)
	for _, c := range []int{201, 202, 203} {
		ok(t, s.Fork(200, c, sigchld))
	}
	ok(t, s.Fork(201, 204, sigchld))
	ok(t, s.Exec(202, "cat", "cat"))
	if _, err := s.Setsid(203); err != nil {
		t.Fatal(err)
	}
	ok(t, s.AddVirtual(300, otherCreds, "sh"))
	ok(t, s.Spawn(SpawnArgs{PPID: 300, PID: 400, Creds: otherCreds, Comm: "other"}))
	return s
}

func TestSetpgid(t *testing.T) {
	tests := []struct {
		name              string
		caller, pid, pgid int
		want              error
		wantPGID          int // of pid (or caller) after success
	}{
		{"own group, no-op", 200, 0, 0, nil, 200},
		{"child makes own group", 201, 0, 0, nil, 201},
		{"parent moves child to its own group", 200, 201, 0, nil, 201},
		{"explicit pgid = pid", 200, 201, 201, nil, 201},
		{"join an existing group of the session", 201, 201, 200, nil, 200},
		{"negative pgid", 200, 201, -1, syscall.EINVAL, 0},
		{"child has exec'd", 200, 202, 0, syscall.EACCES, 0},
		{"child in another session", 200, 203, 0, syscall.EPERM, 0},
		{"grandchild", 200, 204, 0, syscall.ESRCH, 0},
		{"parent", 200, 100, 0, syscall.ESRCH, 0},
		{"no such process", 200, 999, 0, syscall.ESRCH, 0},
		{"negative pid, pgid 0: pgid becomes negative", 200, -5, 0, syscall.EINVAL, 0},
		{"negative pid", 200, -5, 200, syscall.ESRCH, 0},
		{"group of another session", 200, 201, 400, syscall.EPERM, 0},
		{"no such group", 200, 201, 777, syscall.EPERM, 0},
		{"session leader", 203, 0, 0, syscall.EPERM, 0},
		{"session leader joins a group", 203, 0, 200, syscall.EPERM, 0},
		{"launcher is a session leader", 100, 0, 0, syscall.EPERM, 0},
		{"EINVAL before ESRCH", 200, 999, -3, syscall.EINVAL, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newGroupFixture(t)
			err := s.Setpgid(tt.caller, tt.pid, tt.pgid)
			if err != tt.want {
				t.Fatalf("Setpgid(%d, %d, %d) = %v, want %v", tt.caller, tt.pid, tt.pgid, err, tt.want)
			}
			if err != nil {
				return
			}
			pid := tt.pid
			if pid == 0 {
				pid = tt.caller
			}
			if got, _ := s.Getpgid(pid); got != tt.wantPGID {
				t.Errorf("pgid of %d = %d, want %d", pid, got, tt.wantPGID)
			}
		})
	}
}

func TestSetsid(t *testing.T) {
	tests := []struct {
		name   string
		caller int
		want   error
	}{
		{"member of a group", 201, nil},
		{"group leader", 200, syscall.EPERM},
		{"session leader", 203, syscall.EPERM},
		{"launcher", 100, syscall.EPERM},
		{"unknown", 999, syscall.ESRCH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newGroupFixture(t)
			sid, err := s.Setsid(tt.caller)
			if err != tt.want {
				t.Fatalf("Setsid(%d) = %d, %v; want %v", tt.caller, sid, err, tt.want)
			}
			if err != nil {
				return
			}
			p := lookup(t, s, tt.caller)
			if sid != tt.caller || p.SID != sid || p.PGID != sid || !p.SessionLeader() {
				t.Errorf("after setsid: sid %d, %+v", sid, p)
			}
			// 204 stays in the old group and session.
			if g, _ := s.Getpgid(204); g != 200 {
				t.Errorf("grandchild moved to %d", g)
			}
		})
	}
	t.Run("a leader whose group emptied may not setsid", func(t *testing.T) {
		s := newGroupFixture(t)
		ok(t, s.Setpgid(201, 0, 0)) // 201 leads group 201, 204 is in 200
		ok(t, s.Setpgid(201, 204, 201))
		ok(t, s.Setpgid(201, 0, 200)) // 201 leaves; 204 keeps group 201 alive
		if _, err := s.Setsid(201); err != syscall.EPERM {
			t.Fatalf("Setsid with own pid as a live pgid = %v, want EPERM", err)
		}
	})
}

func TestGetpgidGetsid(t *testing.T) {
	s := newGroupFixture(t)
	_, err := s.Exit(201, ExitedStatus(0), Rusage{})
	ok(t, err)
	tests := []struct {
		pid, pgid, sid int
		err            error
	}{
		{200, 200, 100, nil},
		{201, 200, 100, nil}, // a zombie still has its group
		{203, 203, 203, nil},
		{400, 400, 300, nil}, // other sessions are visible on Linux
		{999, 0, 0, syscall.ESRCH},
		{0, 0, 0, syscall.ESRCH},
	}
	for _, tt := range tests {
		pg, err1 := s.Getpgid(tt.pid)
		sid, err2 := s.Getsid(tt.pid)
		if pg != tt.pgid || sid != tt.sid || err1 != tt.err || err2 != tt.err {
			t.Errorf("pid %d: pgid %d %v, sid %d %v; want %d %d %v", tt.pid, pg, err1, sid, err2, tt.pgid, tt.sid, tt.err)
		}
	}
}
