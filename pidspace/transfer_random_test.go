package pidspace

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// freeLog wraps a node's BlockAllocator and fails the test on a PID freed
// twice or freed while some Space still holds a record of it.
type freeLog struct {
	*BlockAllocator
	w *randomWorld
}

func (f freeLog) Free(pid int) {
	if !f.Owns(pid) {
		// A lent PID going back to its lease holder (the foreign hook),
		// whose Space frees it.
		f.BlockAllocator.Free(pid)
		return
	}
	f.w.mu.Lock()
	if f.w.freed[pid] {
		f.w.t.Errorf("pid %d freed twice", pid)
	}
	f.w.freed[pid] = true
	f.w.mu.Unlock()
	// Stubs may outlive the record for as long as the events that drop
	// them are on their way: end checks that none is left.
	for n, s := range f.w.spaces {
		if p, found := s.Lookup(pid); found && !p.Stub {
			f.w.t.Errorf("pid %d freed while %s holds %+v", pid, n, p)
		}
	}
	f.BlockAllocator.Free(pid)
}

// randomWorld drives a three-node cluster with random calls, records
// moving between the nodes, every event delivered at once, in order.
type randomWorld struct {
	*moveCluster
	rng    *rand.Rand
	mu     sync.Mutex
	freed  map[int]bool
	used   map[int]string // PID -> its lease holder
	kernel map[int]string // PID -> the node whose kernel task it is
	log    []string       // the last steps, for a failure
}

func (w *randomWorld) logf(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
	if len(w.log) > 400 {
		w.log = w.log[1:]
	}
}

func newRandomWorld(t *testing.T, seed uint64) *randomWorld {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &randomWorld{
		moveCluster: &moveCluster{
			twoNodes: &twoNodes{t: t, spaces: map[string]*Space{}},
			allocs:   map[string]*BlockAllocator{},
			lent:     map[string][]int{},
		},
		rng:   rand.New(rand.NewPCG(seed, 8)),
		freed: map[int]bool{}, used: map[int]string{}, kernel: map[int]string{},
	}
	src := NewLocalBlocks(PIDMax)
	for _, n := range []string{"a", "b", "c"} {
		al := NewBlockAllocator(ctx, src, 1)
		ok(t, al.Ready(ctx))
		al.SetForeign(func(pid int) { w.returnPID(n, pid) })
		w.allocs[n] = al
		w.add(n, freeLog{al, w})
	}
	ok(t, w.spaces["a"].AddVirtual(100, userCreds, "sh"))
	w.spawn("a", 100)
	return w
}

func (w *randomWorld) spawn(n string, parent int) {
	pid, err := w.allocs[n].Alloc()
	ok(w.t, err)
	ok(w.t, w.spaces[n].Spawn(SpawnArgs{PPID: parent, PID: pid, Creds: userCreds}))
	w.used[pid], w.kernel[pid] = n, n
}

// local returns a random live record of node n that is not herd-init or
// Virtual, or 0.
func (w *randomWorld) local(n string) int {
	var pids []int
	for _, p := range w.spaces[n].List() {
		if p.PID != InitPID && !p.Virtual && p.State != Zombie {
			pids = append(pids, p.PID)
		}
	}
	if len(pids) == 0 {
		return 0
	}
	return pids[w.rng.IntN(len(pids))]
}

// gone tells node n's Space that the kernel task of pid is gone.
func (w *randomWorld) gone(pid int) {
	n := w.kernel[pid]
	ok(w.t, w.spaces[n].KernelGone(pid))
	delete(w.kernel, pid)
}

func (w *randomWorld) step() {
	n := w.names[w.rng.IntN(len(w.names))]
	s := w.spaces[n]
	p := w.local(n)
	if p == 0 {
		return
	}
	op := w.rng.IntN(10)
	w.logf("%s: op %d on %d", n, op, p)
	switch op {
	case 0, 1:
		kid := w.fork(n, p)
		w.used[kid], w.kernel[kid] = n, n
	case 2:
		eff, err := s.Exit(p, ExitedStatus(1), Rusage{Utime: 1})
		ok(w.t, err)
		w.deliver(eff)
	case 3, 4:
		opts := []int{unix.WNOHANG, unix.WNOHANG | unix.WUNTRACED, unix.WNOHANG | unix.WCONTINUED}
		res, err := s.Wait(p, Wait4(-1, opts[w.rng.IntN(len(opts))]))
		if err == nil {
			w.deliver(Effects{Remote: res.Remote})
		}
	case 5:
		eff, err := s.Stopped(p, int(syscall.SIGSTOP))
		ok(w.t, err)
		w.deliver(eff)
		if w.rng.IntN(2) == 0 {
			eff, err = s.Continued(p)
			ok(w.t, err)
			w.deliver(eff)
		}
	case 6:
		if s.Setpgid(p, 0, 0) == nil {
			w.deliver(Effects{Remote: s.KinChanged(p)})
		}
	case 7:
		ok(w.t, s.SetSubreaper(p, w.rng.IntN(2) == 0))
	case 8, 9:
		to := w.names[w.rng.IntN(len(w.names))]
		if to == n {
			return
		}
		w.logf("move %d %s -> %s", p, n, to)
		w.move(p, n, to)
		w.gone(p) // the image left behind
		w.kernel[p] = to
	}
	w.check()
}

// end has every process exit and every kernel task go, then checks that
// each Space holds herd-init alone and every PID went back to its lease
// holder exactly once.
func (w *randomWorld) end() {
	for range 100 {
		live := false
		for _, n := range w.names {
			for _, p := range w.spaces[n].List() {
				if p.PID == InitPID || p.State == Zombie {
					continue
				}
				live = true
				eff, err := w.spaces[n].Exit(p.PID, KilledStatus(syscall.SIGKILL, false), Rusage{})
				ok(w.t, err)
				w.deliver(eff)
			}
		}
		if !live {
			break
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(w.kernel)) {
		w.gone(pid)
	}
	for _, n := range w.names {
		s := w.spaces[n]
		s.mu.Lock()
		left := len(s.procs)
		s.mu.Unlock()
		if left != 1 {
			w.t.Errorf("%s keeps records after the end:\n%v%v", n, s, s.procs)
		}
	}
	for pid, holder := range w.used {
		if w.allocs[holder].InUse(pid) {
			w.t.Errorf("pid %d still in use at its lease holder %s", pid, holder)
		}
		for _, n := range w.names {
			if to, moved := w.spaces[n].Moved(pid); moved && n == holder {
				w.t.Errorf("%s still forwards %d to %s", n, pid, to)
			}
		}
	}
}

// TestRandomMovesKeepInvariants drives three nodes with random calls and
// moves, checks every Space's bookkeeping after each, then ends every
// process and checks that every PID is freed once, at its lease holder.
func TestRandomMovesKeepInvariants(t *testing.T) {
	for seed := range uint64(100) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newRandomWorld(t, seed)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("last steps: %q", w.log)
				}
			})
			for range 300 {
				w.step()
				if t.Failed() {
					t.FailNow()
				}
			}
			w.end()
		})
	}
}
