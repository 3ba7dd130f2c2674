package pidspace

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// checkInvariants verifies the Space's internal bookkeeping.
func checkInvariants(s *Space) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sessions := map[int]int{}
	members := 0
	for pid, p := range s.procs {
		if p.PID != pid {
			return fmt.Errorf("record %d says pid %d", pid, p.PID)
		}
		if s.groups[p.PGID][pid] != p {
			return fmt.Errorf("%d missing from group %d", pid, p.PGID)
		}
		sessions[p.SID]++
		if parent := s.procs[p.PPID]; parent != nil && pid != InitPID {
			want := 1
			if p.Stub && parent.Stub {
				want = 0 // linked at their homes only
			}
			if n := countOf(parent.children, pid); n != want {
				return fmt.Errorf("%d appears %d times among %d's children", pid, n, p.PPID)
			}
		} else if p.PPID != 0 && pid != InitPID && !p.Stub {
			// A stub's parent may live only at its home.
			return fmt.Errorf("%d has vanished parent %d", pid, p.PPID)
		}
		for _, c := range p.children {
			if cp := s.procs[c]; cp == nil || cp.PPID != pid {
				return fmt.Errorf("%d lists %d as child", pid, c)
			}
		}
		if p.State != Zombie && !p.Stub {
			if parent := s.procs[p.PPID]; parent != nil && parent.State == Zombie {
				return fmt.Errorf("live %d has zombie parent %d", pid, p.PPID)
			}
		}
	}
	for pgid, g := range s.groups {
		if len(g) == 0 {
			return fmt.Errorf("empty group %d kept", pgid)
		}
		sid := -1
		for _, m := range g {
			members++
			if sid != -1 && m.SID != sid {
				return fmt.Errorf("group %d spans sessions %d and %d", pgid, sid, m.SID)
			}
			sid = m.SID
		}
	}
	if members != len(s.procs) {
		return fmt.Errorf("%d group members for %d records", members, len(s.procs))
	}
	if len(sessions) != len(s.sessions) {
		return fmt.Errorf("sessions %v, counted %v", s.sessions, sessions)
	}
	for sid, n := range sessions {
		if s.sessions[sid] != n {
			return fmt.Errorf("session %d: %d records, counter %d", sid, n, s.sessions[sid])
		}
	}
	return nil
}

func countOf(xs []int, x int) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// strictAlloc fails the test on a double free or a free of a referenced PID.
type strictAlloc struct {
	t     *testing.T
	s     *Space
	mu    sync.Mutex
	freed map[int]bool
}

func (a *strictAlloc) Alloc() (int, error) { return 0, errors.New("not used") }
func (a *strictAlloc) Reserve(int) error   { return nil }
func (a *strictAlloc) Free(pid int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.freed[pid] {
		a.t.Errorf("pid %d freed twice", pid)
	}
	a.freed[pid] = true
	if _, found := a.s.Lookup(pid); found {
		a.t.Errorf("pid %d freed while it has a record", pid)
	}
	if _, err := a.s.SignalTargets(InitPID, -pid, 0); err != syscall.ESRCH {
		a.t.Errorf("pid %d freed while a group uses it", pid)
	}
}

// TestRandomOperationsKeepInvariants drives the Space with random calls,
// checks its bookkeeping after each, then ends every process and checks
// that every PID is freed exactly once.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			a := &strictAlloc{t: t, freed: map[int]bool{}}
			s := NewSpace("a", a)
			a.s = s
			ok(t, s.AddInit())
			ok(t, s.AddVirtual(100, userCreds, "sh"))
			ok(t, s.Spawn(SpawnArgs{PPID: 100, PID: 101, Creds: userCreds}))
			next := 102
			kernel := map[int]bool{101: true}
			used := map[int]bool{100: true, 101: true}
			pick := func() int {
				l := s.List()
				return l[rng.IntN(len(l))].PID
			}
			waitOpts := []WaitRequest{
				Wait4(-1, unix.WNOHANG), Wait4(0, unix.WNOHANG|unix.WUNTRACED),
				Wait4(-1, unix.WNOHANG|unix.WALL|unix.WCONTINUED),
				Waitid(unix.P_ALL, 0, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG),
				Wait4(-1, unix.WNOHANG|unix.WCLONE),
			}
			for range 400 {
				p := pick()
				switch rng.IntN(12) {
				case 0, 1, 2:
					sig := sigchld
					if rng.IntN(5) == 0 {
						sig = int(syscall.SIGUSR1)
					}
					if s.Fork(p, next, sig) == nil {
						kernel[next] = true
						used[next] = true
					}
					next++
				case 3, 4:
					status := ExitedStatus(rng.IntN(3))
					s.Exit(p, status, Rusage{Utime: 1})
				case 5, 6:
					s.Wait(p, waitOpts[rng.IntN(len(waitOpts))])
				case 7:
					s.Setpgid(p, 0, 0)
				case 8:
					kids, _ := s.Children(p)
					if len(kids) > 0 {
						s.Setpgid(p, kids[rng.IntN(len(kids))], p)
					}
				case 9:
					s.Setsid(p)
				case 10:
					s.Stopped(p, int(syscall.SIGSTOP))
					if rng.IntN(2) == 0 {
						s.Continued(p)
					}
				case 11:
					switch rng.IntN(3) {
					case 0:
						s.SetSubreaper(p, true)
					case 1:
						s.SetSigchldAction(p, SigchldAction{Ignored: rng.IntN(2) == 0, NoCldWait: rng.IntN(2) == 0})
					case 2:
						if pr, found := s.Lookup(p); found && pr.State == Zombie && kernel[p] {
							ok(t, s.KernelGone(p))
							delete(kernel, p)
						}
					}
				}
				if err := checkInvariants(s); err != nil {
					t.Fatal(err)
				}
			}
			endTheWorld(t, s, a, kernel, used)
		})
	}
}

// endTheWorld has every process of s exit and every kernel task go, and
// checks that the PIDs freed are exactly the ones used.
func endTheWorld(t *testing.T, s *Space, a *strictAlloc, kernel, used map[int]bool) {
	// End the world: every process exits (children first would be
	// kinder; any order must work), then kernel tasks go.
	for _, p := range s.List() {
		if p.PID != InitPID && p.State != Zombie {
			_, err := s.Exit(p.PID, KilledStatus(syscall.SIGKILL, false), Rusage{})
			ok(t, err)
		}
	}
	// Every parent has exited, so every zombie went to init and was
	// reaped.
	if l := s.List(); len(l) != 1 {
		t.Fatalf("records left after everything exited:\n%s", s)
	}
	for pid := range kernel {
		ok(t, s.KernelGone(pid))
	}
	if err := checkInvariants(s); err != nil {
		t.Fatal(err)
	}
	for pid := range used {
		if !a.freed[pid] {
			t.Errorf("pid %d never freed", pid)
		}
	}
	for pid := range a.freed {
		if !used[pid] {
			t.Errorf("pid %d freed but never used", pid)
		}
	}
}
