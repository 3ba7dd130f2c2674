package pidspace

import (
	"context"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConcurrentLifecycles runs fork/exit/wait/free cycles from several
// goroutines against one Space and a real BlockAllocator, with readers
// alongside: run it with -race.
func TestConcurrentLifecycles(t *testing.T) {
	alloc := NewBlockAllocator(context.Background(), NewLocalBlocks(FirstPID+4*BlockLen), 64)
	s := NewSpace("a", alloc)
	ok(t, s.AddInit())
	launcher, err := alloc.Alloc()
	ok(t, err)
	ok(t, s.AddVirtual(launcher, userCreds, "sh"))
	prog, err := alloc.Alloc()
	ok(t, err)
	ok(t, s.Spawn(SpawnArgs{PPID: launcher, PID: prog, Creds: userCreds}))

	const workers, rounds = 4, 300
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				pid, err := alloc.Alloc()
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Fork(prog, pid, sigchld); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Stopped(pid, int(syscall.SIGSTOP)); err != nil {
					t.Error(err)
				}
				if _, err := s.Continued(pid); err != nil {
					t.Error(err)
				}
				if _, err := s.Exit(pid, ExitedStatus(0), Rusage{Utime: 1}); err != nil {
					t.Error(err)
				}
				if err := s.KernelGone(pid); err != nil {
					t.Error(err)
				}
				res, err := s.Wait(prog, Wait4(pid, 0))
				if err != nil || res.PID != pid || !res.Reaped {
					t.Errorf("wait for %d = %+v, %v", pid, res, err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rounds {
			_ = s.List()
			_, _ = s.SignalTargets(prog, 0, 0)
			_ = s.String()
			// Looks without consuming, so the workers' waits stay theirs.
			_, _ = s.Wait(prog, Waitid(unix.P_ALL, 0, unix.WNOHANG|unix.WNOWAIT|unix.WEXITED|unix.WCONTINUED))
		}
	}()
	wg.Wait()
	if got, _ := s.ChildrenRusage(prog); got.Utime != workers*rounds {
		t.Errorf("children utime = %d, want %d", got.Utime, workers*rounds)
	}
	// Only the launcher and the program remain in use.
	if used := len(alloc.Blocks())*BlockLen - alloc.FreePIDs(); used != 2 {
		t.Errorf("%d pids in use, want 2", used)
	}
	if err := checkInvariants(s); err != nil {
		t.Fatal(err)
	}
}
