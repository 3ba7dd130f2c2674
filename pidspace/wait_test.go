package pidspace

import (
	"errors"
	"math"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type childState int

const (
	running     childState = iota
	exited3                // exit(3)
	killed                 // SIGKILL
	stoppedTSTP            // stopped by SIGTSTP, unreported
	continued              // stopped and continued, unreported
)

type childSpec struct {
	pid        int
	exitSignal int // 0 means SIGCHLD here; use noSignal for a real 0
	state      childState
	ownGroup   bool // setpgid(pid, pid)
}

const noSignal = -1

// buildWaitFixture gives program 200 (group 200) the children described.
func buildWaitFixture(t *testing.T, kids []childSpec) *Space {
	t.Helper()
	s, _ := newTestSpace(t)
	for _, k := range kids {
		sig := k.exitSignal
		switch sig {
		case 0:
			sig = sigchld
		case noSignal:
			sig = 0
		}
		ok(t, s.Fork(200, k.pid, sig))
		if k.ownGroup {
			ok(t, s.Setpgid(200, k.pid, k.pid))
		}
	}
	for _, k := range kids {
		var err error
		switch k.state {
		case exited3:
			_, err = s.Exit(k.pid, ExitedStatus(3), Rusage{})
		case killed:
			_, err = s.Exit(k.pid, KilledStatus(syscall.SIGKILL, false), Rusage{})
		case stoppedTSTP:
			_, err = s.Stopped(k.pid, int(syscall.SIGTSTP))
		case continued:
			_, err = s.Stopped(k.pid, int(syscall.SIGSTOP))
			if err == nil {
				_, err = s.Continued(k.pid)
			}
		}
		ok(t, err)
	}
	return s
}

func TestWait(t *testing.T) {
	const (
		wall   = unix.WALL
		wclone = unix.WCLONE
	)
	usr1 := int(syscall.SIGUSR1)
	type result struct {
		pid    int
		status WaitStatus
		code   int
		sigst  int
		err    error
	}
	none := result{}
	block := result{err: ErrWouldBlock}
	echild := result{err: syscall.ECHILD}
	exit3 := func(pid int) result { return result{pid, 3 << 8, CLD_EXITED, 3, nil} }
	kill9 := func(pid int) result { return result{pid, 9, CLD_KILLED, 9, nil} }
	stopTSTP := func(pid int) result { return result{pid, 20<<8 | 0x7f, CLD_STOPPED, 20, nil} }
	cont := func(pid int) result { return result{pid, 0xffff, CLD_CONTINUED, int(syscall.SIGCONT), nil} }

	tests := []struct {
		name  string
		kids  []childSpec
		req   WaitRequest
		want  result
		again result // the same request once more
	}{
		{"no children", nil, Wait4(-1, 0), echild, echild},
		{"zombie reaped", []childSpec{{pid: 201, state: exited3}}, Wait4(-1, 0), exit3(201), echild},
		{"killed", []childSpec{{pid: 201, state: killed}}, Wait4(-1, 0), kill9(201), echild},
		{"running child blocks", []childSpec{{pid: 201}}, Wait4(-1, 0), block, block},
		{"WNOHANG: zero result", []childSpec{{pid: 201}}, Wait4(-1, unix.WNOHANG), none, none},
		{"not my child", []childSpec{{pid: 201}}, Wait4(100, 0), echild, echild},
		{"by pid", []childSpec{{pid: 201, state: exited3}, {pid: 202, state: exited3}}, Wait4(202, 0), exit3(202), echild},
		{"oldest first", []childSpec{{pid: 203, state: exited3}, {pid: 201, state: exited3}}, Wait4(-1, 0), exit3(203), exit3(201)},
		{"zombie before a later stop", []childSpec{{pid: 201, state: stoppedTSTP}, {pid: 202, state: exited3}}, Wait4(-1, unix.WUNTRACED), stopTSTP(201), exit3(202)},
		{"stop needs WUNTRACED", []childSpec{{pid: 201, state: stoppedTSTP}}, Wait4(-1, 0), block, block},
		{"stop reported once", []childSpec{{pid: 201, state: stoppedTSTP}}, Wait4(-1, unix.WUNTRACED|unix.WNOHANG), stopTSTP(201), none},
		{"continue reported once", []childSpec{{pid: 201, state: continued}}, Wait4(-1, unix.WCONTINUED|unix.WNOHANG), cont(201), none},
		{"continue replaced the stop", []childSpec{{pid: 201, state: continued}}, Wait4(-1, unix.WUNTRACED|unix.WNOHANG), none, none},
		{"waitid WNOWAIT keeps the zombie", []childSpec{{pid: 201, state: exited3}}, Waitid(unix.P_ALL, 0, unix.WEXITED|unix.WNOWAIT), exit3(201), exit3(201)},
		{"waitid WNOWAIT keeps the stop", []childSpec{{pid: 201, state: stoppedTSTP}}, Waitid(unix.P_PID, 201, unix.WSTOPPED|unix.WNOWAIT), stopTSTP(201), stopTSTP(201)},
		{"waitid without WEXITED skips zombies", []childSpec{{pid: 201, state: exited3}}, Waitid(unix.P_ALL, 0, unix.WSTOPPED|unix.WCONTINUED), echild, echild},
		{"waitid WSTOPPED with a live child blocks", []childSpec{{pid: 201, state: exited3}, {pid: 202}}, Waitid(unix.P_ALL, 0, unix.WSTOPPED), block, block},
		{"waitid WEXITED ignores stops", []childSpec{{pid: 201, state: stoppedTSTP}}, Waitid(unix.P_ALL, 0, unix.WEXITED|unix.WNOHANG), none, none},
		{"waitid P_PGID 0 is my group", []childSpec{{pid: 201, state: exited3, ownGroup: true}, {pid: 202, state: exited3}}, Waitid(unix.P_PGID, 0, unix.WEXITED), exit3(202), echild},
		{"waitid P_PGID", []childSpec{{pid: 201, state: exited3, ownGroup: true}, {pid: 202, state: exited3}}, Waitid(unix.P_PGID, 201, unix.WEXITED), exit3(201), echild},
		{"wait4 0 is my group", []childSpec{{pid: 201, state: exited3, ownGroup: true}}, Wait4(0, 0), echild, echild},
		{"wait4 -pgid", []childSpec{{pid: 202, state: exited3}, {pid: 201, state: exited3, ownGroup: true}}, Wait4(-201, 0), exit3(201), echild},
		{"clone child invisible by default", []childSpec{{pid: 201, exitSignal: usr1, state: exited3}}, Wait4(-1, 0), echild, echild},
		{"clone child with __WCLONE", []childSpec{{pid: 201, exitSignal: usr1, state: exited3}, {pid: 202, state: exited3}}, Wait4(-1, wclone), exit3(201), echild},
		{"exit signal 0 is a clone child", []childSpec{{pid: 201, exitSignal: noSignal, state: exited3}}, Wait4(-1, wclone), exit3(201), echild},
		{"__WALL sees both", []childSpec{{pid: 201, exitSignal: usr1, state: exited3}, {pid: 202, state: exited3}}, Wait4(-1, wall), exit3(201), exit3(202)},
		{"__WNOTHREAD accepted", []childSpec{{pid: 201, state: exited3}}, Wait4(-1, unix.WNOTHREAD), exit3(201), echild},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := buildWaitFixture(t, tt.kids)
			for i, want := range []result{tt.want, tt.again} {
				res, err := s.Wait(200, tt.req)
				got := result{res.PID, res.Status, res.Code, res.SigStatus, err}
				if got != want {
					t.Fatalf("%v #%d = %+v, want %+v", tt.req, i+1, got, want)
				}
				if err == nil && res.PID != 0 && res.UID != 1000 {
					t.Errorf("si_uid = %d", res.UID)
				}
				exit := res.Code == CLD_EXITED || res.Code == CLD_KILLED
				if wantReaped := exit && tt.req.options&unix.WNOWAIT == 0; res.Reaped != wantReaped {
					t.Errorf("Reaped = %v for %+v", res.Reaped, res)
				}
			}
		})
	}
	s := buildWaitFixture(t, nil)
	if _, err := s.Wait(999, Wait4(-1, 0)); err != syscall.ESRCH {
		t.Errorf("wait by unknown caller = %v", err)
	}
}

func TestWaitStatusWords(t *testing.T) {
	tests := []struct {
		status     WaitStatus
		code, want int
	}{
		{ExitedStatus(0), CLD_EXITED, 0},
		{ExitedStatus(255), CLD_EXITED, 255},
		{ExitedStatus(256), CLD_EXITED, 0},
		{KilledStatus(syscall.SIGTERM, false), CLD_KILLED, 15},
		{KilledStatus(syscall.SIGABRT, true), CLD_DUMPED, 6},
	}
	for _, tt := range tests {
		code, st := exitCode(tt.status)
		if code != tt.code || st != tt.want {
			t.Errorf("exitCode(%#x) = %d, %d; want %d, %d", uint32(tt.status), code, st, tt.code, tt.want)
		}
	}
	w := KilledStatus(syscall.SIGSEGV, true)
	if !w.Signaled() || w.Signal() != syscall.SIGSEGV || !w.CoreDump() {
		t.Errorf("KilledStatus does not decode with syscall.WaitStatus: %#x", uint32(w))
	}
	if e := ExitedStatus(42); !e.Exited() || e.ExitStatus() != 42 {
		t.Errorf("ExitedStatus does not decode: %#x", uint32(e))
	}
	if s := stoppedStatus(19); !s.Stopped() || s.StopSignal() != syscall.SIGSTOP {
		t.Errorf("stoppedStatus does not decode: %#x", uint32(s))
	}
	if !continuedStatus.Continued() {
		t.Error("continuedStatus does not decode")
	}
}

// A waiter blocked on a child whose exit is auto-reaped is retried and
// then learns there is nothing left: ECHILD, as Linux's __wake_up_parent.
func TestWaitWokenWhenParentIgnoresSigchld(t *testing.T) {
	s, _ := newTestSpace(t)
	ok(t, s.Fork(200, 201, sigchld))
	ok(t, s.SetSigchldAction(200, SigchldAction{Ignored: true}))
	if _, err := s.Wait(200, Wait4(-1, 0)); err != ErrWouldBlock {
		t.Fatalf("wait = %v, want ErrWouldBlock", err)
	}
	eff, err := s.Exit(201, ExitedStatus(0), Rusage{})
	ok(t, err)
	if len(eff.Notify) != 0 || len(eff.Retry) != 1 || eff.Retry[0] != 200 {
		t.Fatalf("effects = %+v", eff)
	}
	if _, err := s.Wait(200, Wait4(-1, 0)); err != syscall.ECHILD {
		t.Fatalf("retried wait = %v, want ECHILD", err)
	}
}

func TestWaitAccumulatesChildrenRusage(t *testing.T) {
	s, _ := newTestSpace(t)
	ok(t, s.Fork(200, 201, sigchld))
	ok(t, s.Fork(201, 202, sigchld))
	ok(t, s.Fork(201, 203, sigchld))
	ms := time.Millisecond
	grand := Rusage{Utime: 5 * ms, Stime: 1 * ms, Maxrss: 5000, Minflt: 10, Nvcsw: 1}
	child := Rusage{Utime: 2 * ms, Stime: 2 * ms, Maxrss: 3000, Minflt: 1, Majflt: 2, Nivcsw: 4}
	_, err := s.Exit(202, ExitedStatus(0), grand)
	ok(t, err)
	_, err = s.Exit(203, ExitedStatus(0), grand)
	ok(t, err)
	// 201 reaps 202; 203 becomes an orphan zombie reaped by init at exit of
	// 201, and so counts for nobody.
	_, err = s.Wait(201, Wait4(202, 0))
	ok(t, err)
	if got, _ := s.ChildrenRusage(201); got != grand {
		t.Fatalf("201's children usage = %+v", got)
	}
	_, err = s.Exit(201, ExitedStatus(0), child)
	ok(t, err)
	res, err := s.Wait(200, Wait4(201, 0))
	ok(t, err)
	want := Rusage{Utime: 7 * ms, Stime: 3 * ms, Maxrss: 5000, Minflt: 11, Majflt: 2, Nvcsw: 1, Nivcsw: 4}
	if res.Rusage != want {
		t.Errorf("wait4 rusage = %+v, want %+v", res.Rusage, want)
	}
	if got, _ := s.ChildrenRusage(200); got != want {
		t.Errorf("200's children usage = %+v, want %+v", got, want)
	}
	if _, err := s.ChildrenRusage(999); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("ChildrenRusage(999) = %v", err)
	}
	// Auto-reaped children count for nobody, as on Linux.
	ok(t, s.SetSigchldAction(200, SigchldAction{NoCldWait: true}))
	ok(t, s.Fork(200, 204, sigchld))
	_, err = s.Exit(204, ExitedStatus(0), child)
	ok(t, err)
	if got, _ := s.ChildrenRusage(200); got != want {
		t.Errorf("auto-reaped child counted: %+v", got)
	}
}

// TestWaitRejectsBadRequests: requests the kernel refuses before looking
// at any child, the same every time.
func TestWaitRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name string
		req  WaitRequest
		err  error
	}{
		{"wait4 WNOWAIT", Wait4(-1, unix.WNOWAIT), syscall.EINVAL},
		{"wait4 WEXITED", Wait4(-1, unix.WEXITED), syscall.EINVAL},
		{"wait4 junk", Wait4(-1, 0x100), syscall.EINVAL},
		{"wait4 INT_MIN", Wait4(math.MinInt32, 0), syscall.ESRCH},
		{"waitid no event", Waitid(unix.P_ALL, 0, unix.WNOHANG), syscall.EINVAL},
		{"waitid junk", Waitid(unix.P_ALL, 0, unix.WEXITED|0x100), syscall.EINVAL},
		{"waitid P_PID 0", Waitid(unix.P_PID, 0, unix.WEXITED), syscall.EINVAL},
		{"waitid P_PGID -1", Waitid(unix.P_PGID, -1, unix.WEXITED), syscall.EINVAL},
		{"waitid P_PIDFD", Waitid(unix.P_PIDFD, 3, unix.WEXITED), syscall.EINVAL},
		{"waitid unknown idtype", Waitid(9, 0, unix.WEXITED), syscall.EINVAL},
	}
	s := buildWaitFixture(t, []childSpec{{pid: 201, state: exited3}})
	for _, tt := range tests {
		for i := range 2 {
			if res, err := s.Wait(200, tt.req); err != tt.err || res.PID != 0 || res.Reaped {
				t.Errorf("%s: %v #%d = %+v, %v; want %v", tt.name, tt.req, i+1, res, err, tt.err)
			}
		}
	}
}
