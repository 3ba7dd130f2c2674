package pidspace

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// moveCluster is a twoNodes (plus any node added) whose Spaces free PIDs
// through BlockAllocators over one LocalBlocks, as nodes do: a holds the
// block of P (4096...), b the next one (5120...). A PID freed where it is
// foreign goes back to its lease holder as the node does it (the hook
// frees it there and calls Returned).
type moveCluster struct {
	*twoNodes
	allocs map[string]*BlockAllocator
	mu     sync.Mutex
	lent   map[string][]int // PIDs each node's foreign hook got
}

func newMoveCluster(t *testing.T, extra ...string) *moveCluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	src := NewLocalBlocks(PIDMax)
	c := &moveCluster{
		twoNodes: &twoNodes{t: t, spaces: map[string]*Space{}},
		allocs:   map[string]*BlockAllocator{},
		lent:     map[string][]int{},
	}
	for _, n := range append([]string{"a", "b"}, extra...) {
		al := NewBlockAllocator(ctx, src, 1)
		// One node at a time, so that a gets the first block.
		ok(t, al.Ready(ctx))
		al.SetForeign(func(pid int) { c.returnPID(n, pid) })
		c.allocs[n] = al
		c.add(n, al)
	}
	a := c.spaces["a"]
	ok(t, a.AddVirtual(100, userCreds, "sh"))
	ok(t, c.allocs["a"].Reserve(pidP))
	ok(t, a.Spawn(SpawnArgs{PPID: 100, PID: pidP, Creds: userCreds, Comm: "prog", Args: "prog"}))
	return c
}

// returnPID is the node's PidReturned: the lease holder's Space owns pid
// again and frees it (through its allocator) once nothing there refers
// to it.
func (c *moveCluster) returnPID(from string, pid int) {
	c.mu.Lock()
	c.lent[from] = append(c.lent[from], pid)
	c.mu.Unlock()
	for n, al := range c.allocs {
		if al.Owns(pid) {
			c.spaces[n].Returned(pid)
		}
	}
}

// fork has parent fork a child at node n, with a PID of n's allocator.
func (c *moveCluster) fork(n string, parent int) int {
	c.t.Helper()
	pid, err := c.allocs[n].Alloc()
	ok(c.t, err)
	ok(c.t, c.spaces[n].Fork(parent, pid, sigchld))
	c.check()
	return pid
}

// move exports pid from one node and imports it at another, through JSON
// as on the wire, and delivers what the import tells the others. It
// returns the import's effects.
func (c *moveCluster) move(pid int, from, to string) Effects {
	c.t.Helper()
	r, err := c.spaces[from].Export(pid, to)
	ok(c.t, err)
	c.check()
	wire, err := json.Marshal(r)
	ok(c.t, err)
	var got Record
	ok(c.t, json.Unmarshal(wire, &got))
	if !reflect.DeepEqual(got, r) {
		c.t.Fatalf("record changed on the wire:\n%+v\n%+v", r, got)
	}
	eff, err := c.spaces[to].Import(got)
	ok(c.t, err)
	c.check()
	c.deliver(eff)
	return eff
}

func (c *moveCluster) check() {
	c.t.Helper()
	for n, s := range c.spaces {
		if err := checkInvariants(s); err != nil {
			c.t.Fatalf("node %s: %v\n%v", n, err, s)
		}
	}
}

// reapAt has parent wait at node n for child, which must have exited with
// status, and delivers the reap to the child's home.
func (c *moveCluster) reapAt(n string, parent, child int, status WaitStatus) {
	c.t.Helper()
	res, err := c.spaces[n].Wait(parent, Wait4(child, 0))
	if err != nil || res.PID != child || res.Status != status || !res.Reaped {
		c.t.Fatalf("wait of %d at %s for %d: %+v, %v", parent, n, child, res, err)
	}
	c.deliver(Effects{Remote: res.Remote})
}

func (c *moveCluster) takeLent(n string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.lent[n]
	c.lent[n] = nil
	return out
}

// wantRecord checks that pid's record is at node home, with Home == Node,
// and that every other node has at most a stub of it pointing there.
func (c *moveCluster) wantRecord(pid int, home string) Process {
	c.t.Helper()
	var rec Process
	for n, s := range c.spaces {
		p, found := s.Lookup(pid)
		switch {
		case n == home && (!found || p.Stub || p.Home != home || p.Node != home):
			c.t.Fatalf("record of %d at %s: %+v (found %v)", pid, n, p, found)
		case n == home:
			rec = p
		case found && (!p.Stub || p.Home != home || p.Node != home):
			c.t.Fatalf("%s's view of %d, homed at %s: %+v", n, pid, home, p)
		}
	}
	return rec
}

// P moves from a to b (its parent, the launcher, stays at a), forks and
// waits there, exits there; the launcher at a reaps it and the PID goes
// back to a through b's foreign hook.
func TestMoveForkWaitExit(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	ok(t, a.Exec(pidP, "prog", "prog"))
	c.move(pidP, "a", "b")
	p := c.wantRecord(pidP, "b")
	if p.PPID != 100 || p.PGID != pidP || p.SID != 100 || !p.Execed || p.Comm != "prog" {
		t.Fatalf("record at b: %+v", p)
	}
	if to, moved := a.Moved(pidP); !moved || to != "b" {
		t.Fatalf("a.Moved = %q, %v", to, moved)
	}
	if _, moved := b.Moved(pidP); moved {
		t.Fatalf("b thinks P moved away")
	}
	// The image left at a is killed quietly: its kernel task goes, its
	// PID stays lent.
	ok(t, a.KernelGone(pidP))
	if slices.ContainsFunc(a.List(), func(p Process) bool { return p.PID == pidP }) || !c.allocs["a"].InUse(pidP) {
		t.Fatalf("a lists P or freed its PID:\n%v", a)
	}
	// setpgid's EACCES moved along: the launcher cannot regroup P.
	if err := a.Setpgid(100, pidP, 0); err != ErrElsewhere {
		t.Errorf("setpgid of the moved child at a: %v, want ErrElsewhere", err)
	}

	kid := c.fork("b", pidP)
	if kid < 5120 {
		t.Fatalf("child of P at b got %d, not from b's block", kid)
	}
	eff, err := b.Exit(kid, ExitedStatus(2), Rusage{Nvcsw: 3})
	ok(t, err)
	atP := Target{PID: pidP, Node: "b", Home: "b"}
	if len(eff.Remote) != 0 || len(eff.Notify) != 1 || eff.Notify[0].Parent != atP {
		t.Fatalf("exit of P's child at b: %+v", eff)
	}
	c.reapAt("b", pidP, kid, ExitedStatus(2))
	ok(t, b.KernelGone(kid))
	if c.allocs["b"].InUse(kid) || len(c.takeLent("b")) != 0 {
		t.Fatalf("b's own PID %d not freed at b", kid)
	}

	eff, err = b.Exit(pidP, ExitedStatus(7), Rusage{})
	ok(t, err)
	atA := c.deliver(eff)["a"]
	launcher := Target{PID: 100, Node: "a", Virtual: true, Home: "a"}
	if len(atA.Notify) != 1 || atA.Notify[0].Parent != launcher || atA.Notify[0].Info.Status != 7 {
		t.Fatalf("a after P's exit at b: %+v", atA)
	}
	res, err := a.Wait(100, Wait4(-1, 0))
	if err != nil || res.PID != pidP || !res.Reaped || res.Rusage.Nvcsw != 3 {
		t.Fatalf("launcher's wait: %+v, %v", res, err)
	}
	if want := []PeerEvent{{To: "b", Kind: ChildReaped, PID: pidP}}; !reflect.DeepEqual(res.Remote, want) {
		t.Fatalf("reap tells %+v, want %+v", res.Remote, want)
	}
	atB := c.deliver(Effects{Remote: res.Remote})["b"]
	if !slices.Equal(atB.Reaped, []int{pidP}) || !c.allocs["a"].InUse(pidP) {
		t.Fatalf("b after the reap: %+v", atB)
	}
	ok(t, b.KernelGone(pidP))
	if got := c.takeLent("b"); !slices.Equal(got, []int{pidP}) {
		t.Fatalf("b's foreign hook got %v, want [%d]", got, pidP)
	}
	if c.allocs["a"].InUse(pidP) {
		t.Errorf("P's PID not freed at its lease holder")
	}
	if _, moved := a.Moved(pidP); moved {
		t.Errorf("a still forwards P after it came back")
	}
	for n, s := range c.spaces {
		if _, found := s.Lookup(pidP); found {
			t.Errorf("%s still knows P", n)
		}
	}
}

// P's children stay at a (exec keeps them) and move with P as stubs: a
// zombie not yet waited for, a stopped child not yet reported, a running
// one that exits after the move. P waits for all of them at b.
func TestMoveKeepsChildren(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	run := c.fork("a", pidP)
	zombie := c.fork("a", pidP)
	stopped := c.fork("a", pidP)
	eff, err := a.Exit(zombie, ExitedStatus(4), Rusage{})
	ok(t, err)
	c.deliver(eff)
	eff, err = a.Stopped(stopped, int(syscall.SIGTSTP))
	ok(t, err)
	c.deliver(eff)

	imp := c.move(pidP, "a", "b")
	if len(imp.Remote) != 1 || imp.Remote[0].To != "a" || imp.Remote[0].Kind != KinChanged {
		t.Fatalf("import tells %+v, want one KinChanged to a", imp.Remote)
	}
	if kids, err := b.Children(pidP); err != nil || !slices.Equal(kids, []int{run, zombie, stopped}) {
		t.Fatalf("children of P at b = %v, %v", kids, err)
	}
	if ppid, _ := a.Getppid(run); ppid != pidP {
		t.Fatalf("getppid of a child left at a = %d", ppid)
	}
	res, err := b.Wait(pidP, Wait4(-1, unix.WUNTRACED|unix.WNOHANG))
	if err != nil || res.PID != zombie || res.Status != ExitedStatus(4) {
		t.Fatalf("first wait at b: %+v, %v", res, err)
	}
	c.deliver(Effects{Remote: res.Remote})
	if _, found := a.Lookup(zombie); found {
		t.Fatalf("zombie kept at a after P reaped it at b")
	}
	res, err = b.Wait(pidP, Wait4(-1, unix.WUNTRACED|unix.WNOHANG))
	if err != nil || res.PID != stopped || res.Code != CLD_STOPPED || res.SigStatus != int(syscall.SIGTSTP) {
		t.Fatalf("WUNTRACED wait at b: %+v, %v", res, err)
	}
	if res, err := b.Wait(pidP, Wait4(-1, unix.WUNTRACED|unix.WNOHANG)); err != nil || res.PID != 0 {
		t.Fatalf("stop reported twice: %+v, %v", res, err)
	}

	// The child left at a exits: a tells P's new home directly.
	eff, err = a.Exit(run, ExitedStatus(5), Rusage{})
	ok(t, err)
	if len(eff.Remote) != 1 || eff.Remote[0].To != "b" {
		t.Fatalf("exit at a tells %+v", eff.Remote)
	}
	atB := c.deliver(eff)["b"]
	if len(atB.Notify) != 1 || atB.Notify[0].Parent != (Target{PID: pidP, Node: "b", Home: "b"}) {
		t.Fatalf("b after the exit at a: %+v", atB)
	}
	c.reapAt("b", pidP, run, ExitedStatus(5))
	for _, pid := range []int{zombie, run} {
		ok(t, a.KernelGone(pid))
		if c.allocs["a"].InUse(pid) {
			t.Errorf("child %d's PID not freed at a", pid)
		}
	}
	if len(c.takeLent("a")) != 0 {
		t.Errorf("a's own PIDs went to its foreign hook")
	}
}

// P's parent, at a, exits while P lives at b: P goes to b's herd-init, or
// to the subreaper at a, with its parent-death signal, at b.
func TestMoveParentExits(t *testing.T) {
	for _, subreaper := range []bool{false, true} {
		name := map[bool]string{false: "init", true: "subreaper"}[subreaper]
		t.Run(name, func(t *testing.T) {
			c := newMoveCluster(t)
			a, b := c.spaces["a"], c.spaces["b"]
			ok(t, a.SetSubreaper(pidP, subreaper))
			q := c.fork("a", pidP)
			p := c.fork("a", q)
			ok(t, a.SetPdeathsig(p, int(syscall.SIGTERM)))
			c.move(p, "a", "b")
			eff, err := a.Exit(q, ExitedStatus(0), Rusage{})
			ok(t, err)
			atB := c.deliver(eff)["b"]
			newParent := Target{PID: InitPID, Node: "b", Home: "b"}
			if subreaper {
				newParent = Target{PID: pidP, Node: "a", Home: "a"}
			}
			wantReparented(t, b, atB, p, q, newParent)
			eff, err = b.Exit(p, ExitedStatus(9), Rusage{})
			ok(t, err)
			got := c.deliver(eff)
			if !subreaper {
				if !slices.Equal(eff.Reaped, []int{p}) {
					t.Fatalf("b's init did not reap P: %+v", eff)
				}
				return
			}
			if len(got["a"].Notify) != 1 || got["a"].Notify[0].Parent.PID != pidP {
				t.Fatalf("subreaper not notified: %+v", got["a"])
			}
			c.reapAt("a", pidP, p, ExitedStatus(9))
			if _, found := b.Lookup(p); found {
				t.Errorf("b keeps P after the subreaper reaped it")
			}
		})
	}
}

// forkFrom has parent, homed at home, fork a child at node n with a PID
// of n's, as a process running away from its record did before records
// moved (ForkFrom); the fork is told to home.
func (c *moveCluster) forkFrom(n string, parent int, home string) int {
	c.t.Helper()
	hs := c.spaces[home]
	k, err := hs.Kin(parent)
	ok(c.t, err)
	k.Node = n
	pid, err := c.allocs[n].Alloc()
	ok(c.t, err)
	eff, err := c.spaces[n].ForkFrom(k, pid, sigchld)
	ok(c.t, err)
	c.deliver(eff)
	return pid
}

// deliverDropping is deliver for events that may have crossed: an ESRCH
// from Apply is dropped, as the node does. It returns how many were.
func (c *moveCluster) deliverDropping(eff Effects) (map[string]Effects, int) {
	c.t.Helper()
	got := map[string]Effects{}
	dropped := 0
	queue := slices.Clone(eff.Remote)
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		e, err := c.spaces[ev.To].Apply(ev)
		if errors.Is(err, syscall.ESRCH) {
			dropped++
			continue
		}
		ok(c.t, err)
		got[ev.To] = merge(got[ev.To], e)
		queue = append(queue, e.Remote...)
	}
	c.check()
	return got, dropped
}

// forwardWorld is the cluster of TestMoveForwardsEvents.
type forwardWorld struct {
	cl        *moveCluster
	p, q, kid int
	a, b, c   *Space
}

// forwardCase is an event at c, sent before p's move and delivered
// after, and what b must make of it.
type forwardCase struct {
	name  string
	event func(w forwardWorld) Effects
	check func(t *testing.T, w forwardWorld, atB Effects)
}

func forwardCases() []forwardCase {
	return []forwardCase{
		{"child exits", func(w forwardWorld) Effects {
			eff, err := w.c.Exit(w.kid, ExitedStatus(3), Rusage{})
			ok(w.cl.t, err)
			return eff
		}, func(t *testing.T, w forwardWorld, atB Effects) {
			if len(atB.Notify) != 1 || atB.Notify[0].Parent != (Target{PID: w.p, Node: "b", Home: "b"}) {
				t.Fatalf("b: %+v", atB)
			}
			res, err := w.b.Wait(w.p, Wait4(w.kid, 0))
			if err != nil || res.Status != ExitedStatus(3) || len(res.Remote) != 1 || res.Remote[0].To != "c" {
				t.Fatalf("wait at b: %+v, %v", res, err)
			}
			w.cl.deliver(Effects{Remote: res.Remote})
			if _, found := w.c.Lookup(w.kid); found {
				t.Errorf("c keeps the reaped child")
			}
		}},
		{"child stops", func(w forwardWorld) Effects {
			eff, err := w.c.Stopped(w.kid, int(syscall.SIGSTOP))
			ok(w.cl.t, err)
			return eff
		}, func(t *testing.T, w forwardWorld, atB Effects) {
			res, err := w.b.Wait(w.p, Wait4(-1, unix.WUNTRACED))
			if err != nil || res.PID != w.kid || res.Code != CLD_STOPPED || len(atB.Notify) != 1 {
				t.Fatalf("wait at b: %+v, %v; b got %+v", res, err, atB)
			}
		}},
		{"parent exits", func(w forwardWorld) Effects {
			eff, err := w.c.Exit(w.q, ExitedStatus(0), Rusage{})
			ok(w.cl.t, err)
			return eff
		}, func(t *testing.T, w forwardWorld, atB Effects) {
			initB := Target{PID: InitPID, Node: "b", Home: "b"}
			if !reflect.DeepEqual(atB.Reparented, []Reparenting{{PID: w.p, Parent: initB}}) {
				t.Fatalf("b: %+v", atB)
			}
			if ppid, _ := w.b.Getppid(w.p); ppid != InitPID {
				t.Errorf("getppid at b = %d", ppid)
			}
		}},
		{"parent changes group", func(w forwardWorld) Effects {
			ok(w.cl.t, w.c.Setpgid(w.q, 0, 0))
			return Effects{Remote: w.c.KinChanged(w.q)}
		}, func(t *testing.T, w forwardWorld, _ Effects) {
			if q, _ := w.b.Lookup(w.q); !q.Stub || q.PGID != w.q {
				t.Fatalf("b's stub of the parent: %+v", q)
			}
		}},
		{"child changes group", func(w forwardWorld) Effects {
			ok(w.cl.t, w.c.Setpgid(w.kid, 0, 0))
			return Effects{Remote: w.c.KinChanged(w.kid)}
		}, func(t *testing.T, w forwardWorld, _ Effects) {
			if k, _ := w.b.Lookup(w.kid); !k.Stub || k.PGID != w.kid {
				t.Fatalf("b's stub of the child: %+v", k)
			}
		}},
	}
}

// Events that left for p's old node before its kin heard of the move are
// forwarded to its new node and applied there. p (homed at a) has a
// parent q homed at c and a child kid homed at c; p moves to b.
func TestMoveForwardsEvents(t *testing.T) {
	for _, tt := range forwardCases() {
		t.Run(tt.name, func(t *testing.T) {
			cl := newMoveCluster(t, "c")
			w := forwardWorld{cl: cl, a: cl.spaces["a"], b: cl.spaces["b"], c: cl.spaces["c"]}
			// Q, homed at c, is the parent of a process homed at a (it ran
			// at a when it forked), which is P's stand-in here.
			w.q = cl.forkFrom("c", pidP, "a")
			ok(t, w.c.SetNode(w.q, "a"))
			w.p = cl.forkFrom("a", w.q, "c")
			w.kid = cl.forkFrom("c", w.p, "a")
			ok(t, w.a.SetNode(w.p, "a"))
			ev := tt.event(w)
			if len(ev.Remote) == 0 || ev.Remote[0].To != "a" {
				t.Fatalf("event at c: %+v", ev)
			}
			imp := cl.move(w.p, "a", "b")
			if !slices.ContainsFunc(imp.Remote, func(e PeerEvent) bool { return e.To == "c" && e.Kind == KinChanged }) {
				t.Fatalf("import does not tell c: %+v", imp.Remote)
			}
			fwd, err := w.a.Apply(ev.Remote[0])
			ok(t, err)
			want := ev.Remote[0]
			// A KinChanged sent on names the moved record it is for.
			want.To, want.PID = "b", w.p
			if len(fwd.Remote) != 1 || !reflect.DeepEqual(fwd.Remote[0], want) {
				t.Fatalf("a forwards %+v, want %+v", fwd.Remote, want)
			}
			got := cl.deliver(fwd)
			tt.check(t, w, got["b"])
		})
	}
}

// P goes to b, forks there, and comes back to a, its lease holder: a
// answers for it again and frees its PID itself; b forwards to a.
func TestMoveBack(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.move(pidP, "a", "b")
	ok(t, a.KernelGone(pidP)) // the image left at a
	kid := c.fork("b", pidP)
	ok(t, b.SetSubreaper(pidP, true))
	c.move(pidP, "b", "a")
	p := c.wantRecord(pidP, "a")
	if !p.Subreaper || p.PPID != 100 {
		t.Fatalf("record back at a: %+v", p)
	}
	if _, moved := a.Moved(pidP); moved {
		t.Errorf("a forwards P although it holds its record")
	}
	if to, _ := b.Moved(pidP); to != "a" {
		t.Errorf("b.Moved = %q, want a", to)
	}
	if kids, _ := a.Children(pidP); !slices.Equal(kids, []int{kid}) {
		t.Fatalf("children at a = %v", kids)
	}
	// An event b gets about P is sent on to a.
	ev := PeerEvent{To: "b", Kind: ChildStopped, PID: pidP, Kin: Kin{PID: kid}, Signal: int(syscall.SIGSTOP)}
	if fwd, err := b.Apply(ev); err != nil || len(fwd.Remote) != 1 || fwd.Remote[0].To != "a" {
		t.Fatalf("b forwards %+v, %v", fwd, err)
	}
	ok(t, b.KernelGone(pidP)) // the image left at b

	eff, err := b.Exit(kid, ExitedStatus(1), Rusage{})
	ok(t, err)
	if at := c.deliver(eff)["a"]; len(at.Notify) != 1 || at.Notify[0].Parent.Node != "a" {
		t.Fatalf("a after the child's exit at b: %+v", at)
	}
	c.reapAt("a", pidP, kid, ExitedStatus(1))
	ok(t, b.KernelGone(kid))
	eff, err = a.Exit(pidP, ExitedStatus(0), Rusage{})
	ok(t, err)
	if len(eff.Remote) != 0 || len(eff.Notify) != 1 || !eff.Notify[0].Parent.Virtual {
		t.Fatalf("P's exit at a: %+v", eff)
	}
	if res, err := a.Wait(100, Wait4(pidP, 0)); err != nil || !res.Reaped || len(res.Remote) != 0 {
		t.Fatalf("launcher's wait: %+v, %v", res, err)
	}
	ok(t, a.KernelGone(pidP))
	if c.allocs["a"].InUse(pidP) || c.allocs["b"].InUse(kid) {
		t.Errorf("PIDs not freed at their lease holders")
	}
	for _, n := range c.names {
		if got := c.takeLent(n); len(got) != 0 {
			t.Errorf("%s's foreign hook got %v", n, got)
		}
	}
}

// Groups and sessions stay what they were; the orphan check still sees
// the links through stubs on both nodes.
func TestMoveKeepsGroupsAndSessions(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	kid := c.fork("a", pidP) // in P's group 4096, session 100
	eff, err := a.Stopped(kid, int(syscall.SIGTTIN))
	ok(t, err)
	c.deliver(eff)
	c.move(pidP, "a", "b")
	for _, tt := range []struct {
		s         *Space
		pid, pgid int
	}{{b, pidP, pidP}, {a, kid, pidP}} {
		if pgid, err := tt.s.Getpgid(tt.pid); err != nil || pgid != tt.pgid {
			t.Errorf("getpgid(%d) = %d, %v", tt.pid, pgid, err)
		}
		if sid, err := tt.s.Getsid(tt.pid); err != nil || sid != 100 {
			t.Errorf("getsid(%d) = %d, %v", tt.pid, sid, err)
		}
	}
	if _, err := b.Setsid(pidP); err != syscall.EPERM {
		t.Errorf("setsid of a group leader at b: %v, want EPERM", err)
	}
	for _, n := range c.names {
		if c.spaces[n].OrphanedPgrp(pidP) {
			t.Errorf("%s: P's group orphaned while P links it", n)
		}
	}
	got, err := b.SignalTargets(pidP, 0, int(syscall.SIGCONT))
	got = unmarked(got)
	want := []Target{{PID: pidP, Node: "b", Home: "b"}, {PID: kid, Node: "a", Home: "a"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("kill(0) at b = %+v, %v; want %+v", got, err, want)
	}
	// P was its group's only link: its exit orphans the group, whose
	// stopped member is at a.
	eff, err = b.Exit(pidP, ExitedStatus(0), Rusage{})
	ok(t, err)
	orphaned := []OrphanedGroup{{PGID: pidP, Members: []Target{{PID: kid, Node: "a", Home: "a"}}}}
	if !reflect.DeepEqual(eff.OrphanedGroups, orphaned) {
		t.Fatalf("orphaned at b = %+v, want %+v", eff.OrphanedGroups, orphaned)
	}
	c.deliver(eff)
	if ppid, _ := a.Getppid(kid); ppid != InitPID {
		t.Errorf("the child at a went to %d, want a's herd-init", ppid)
	}
	for _, n := range c.names {
		if !c.spaces[n].OrphanedPgrp(pidP) {
			t.Errorf("%s: P's group not orphaned", n)
		}
	}
}

func TestExportImportErrors(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	zombie := c.fork("a", pidP)
	eff, err := a.Exit(zombie, ExitedStatus(0), Rusage{})
	ok(t, err)
	c.deliver(eff)
	moved := c.fork("a", pidP)
	c.move(moved, "a", "b")
	exports := []struct {
		pid  int
		to   string
		want error
	}{
		{pidP, "a", syscall.EEXIST},
		{pidP, "", syscall.EEXIST},
		{7000, "b", syscall.ESRCH},
		{InitPID, "b", syscall.EINVAL},
		{100, "b", syscall.EINVAL}, // the launcher is Virtual
		{zombie, "b", syscall.EINVAL},
		{moved, "b", syscall.EINVAL}, // a stub now
	}
	for _, tt := range exports {
		if _, err := a.Export(tt.pid, tt.to); !errors.Is(err, tt.want) {
			t.Errorf("Export(%d, %q) = %v, want %v", tt.pid, tt.to, err, tt.want)
		}
	}
	live := Record{Process: Process{PID: pidP, PPID: 100, PGID: pidP, SID: 100}}
	imports := []struct {
		name string
		s    *Space
		r    Record
		want error
	}{
		{"a record here", a, live, syscall.EEXIST},
		{"herd-init", b, Record{Process: Process{PID: InitPID}}, syscall.EINVAL},
		{"zombie", b, Record{Process: Process{PID: 7000, State: Zombie}}, syscall.EINVAL},
		{"virtual", b, Record{Process: Process{PID: 7000, Virtual: true}}, syscall.EINVAL},
		{"moved here already", b, Record{Process: Process{PID: moved}}, syscall.EEXIST},
	}
	for _, tt := range imports {
		if _, err := tt.s.Import(tt.r); !errors.Is(err, tt.want) {
			t.Errorf("Import %s = %v, want %v", tt.name, err, tt.want)
		}
	}
	c.check()
}

// An orphan (its parent is a's herd-init) moves: b's herd-init is its
// parent there and reaps it; a keeps nothing of it.
func TestMoveOrphan(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	q := c.fork("a", pidP)
	orphan := c.fork("a", q)
	eff, err := a.Exit(q, ExitedStatus(0), Rusage{})
	ok(t, err)
	c.deliver(eff)
	if imp := c.move(orphan, "a", "b"); len(imp.Remote) != 0 {
		t.Fatalf("an orphan's import tells %+v", imp.Remote)
	}
	ok(t, a.KernelGone(orphan)) // the image left behind, reaped at a
	if p := c.wantRecord(orphan, "b"); p.PPID != InitPID {
		t.Fatalf("orphan at b: %+v", p)
	}
	if _, found := a.Lookup(orphan); found {
		t.Fatalf("a keeps a stub of an orphan that left")
	}
	eff, err = b.Exit(orphan, ExitedStatus(0), Rusage{})
	ok(t, err)
	if !slices.Equal(eff.Reaped, []int{orphan}) || len(eff.Remote) != 0 {
		t.Fatalf("orphan's exit at b: %+v", eff)
	}
	ok(t, b.KernelGone(orphan))
	if got := c.takeLent("b"); !slices.Equal(got, []int{orphan}) || c.allocs["a"].InUse(orphan) {
		t.Fatalf("orphan's PID: lent back %v, in use at a %v", got, c.allocs["a"].InUse(orphan))
	}
}

// Events about kin homed at the new node cross the move: they left for
// the old node and come back to records that changed already.
func TestMoveCrossings(t *testing.T) {
	tests := []struct {
		name    string
		event   func(c *moveCluster, kid int) Effects // at b, before the move
		dropped int                                   // events that find nothing after the move
		check   func(t *testing.T, c *moveCluster, kid int, imp, atB Effects)
	}{
		{"child's exit comes back", func(c *moveCluster, kid int) Effects {
			eff, err := c.spaces["b"].Exit(kid, ExitedStatus(6), Rusage{})
			ok(c.t, err)
			return eff
		}, 0, func(t *testing.T, c *moveCluster, kid int, _, atB Effects) {
			if len(atB.Notify) != 1 || atB.Notify[0].Parent.Node != "b" || atB.Notify[0].Info.Status != 6 {
				t.Fatalf("b: %+v", atB)
			}
			res, err := c.spaces["b"].Wait(pidP, Wait4(-1, 0))
			if err != nil || res.PID != kid || len(res.Remote) != 0 {
				t.Fatalf("wait at b: %+v, %v", res, err)
			}
		}},
		{"child's stop comes back", func(c *moveCluster, kid int) Effects {
			eff, err := c.spaces["b"].Stopped(kid, int(syscall.SIGTSTP))
			ok(c.t, err)
			return eff
		}, 0, func(t *testing.T, c *moveCluster, kid int, _, atB Effects) {
			res, err := c.spaces["b"].Wait(pidP, Wait4(-1, unix.WUNTRACED|unix.WNOHANG))
			if err != nil || res.PID != kid || res.Code != CLD_STOPPED || len(atB.Notify) != 1 {
				t.Fatalf("wait at b: %+v, %v; b got %+v", res, err, atB)
			}
		}},
		{"reap crosses the move", func(c *moveCluster, kid int) Effects {
			eff, err := c.spaces["b"].Exit(kid, ExitedStatus(0), Rusage{})
			ok(c.t, err)
			c.deliver(eff)
			res, err := c.spaces["a"].Wait(pidP, Wait4(kid, 0))
			ok(c.t, err)
			return Effects{Remote: res.Remote}
		}, 1, func(t *testing.T, c *moveCluster, kid int, imp, _ Effects) {
			if !slices.Equal(imp.Reaped, []int{kid}) {
				t.Fatalf("import did not reap the zombie P reaped at a: %+v", imp)
			}
			if _, err := c.spaces["b"].Wait(pidP, Wait4(-1, unix.WNOHANG)); err != syscall.ECHILD {
				t.Fatalf("wait at b after the reap: %v, want ECHILD", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newMoveCluster(t)
			kid := c.forkFrom("b", pidP, "a")
			ok(t, c.spaces["a"].SetNode(pidP, "a"))
			ev := tt.event(c, kid)
			imp := c.move(pidP, "a", "b")
			got, dropped := c.deliverDropping(ev)
			if dropped != tt.dropped {
				t.Fatalf("%d events dropped, want %d", dropped, tt.dropped)
			}
			tt.check(t, c, kid, imp, got["b"])
			c.check()
		})
	}
}

// P's parent, homed at b where P is going, exits while P moves: it hands
// P's stub to a subreaper there, or to herd-init, and tells a, which P
// has left. The import reparents P at once; the ParentExited finds
// nothing when a forwards it.
func TestMoveParentExitsDuringMove(t *testing.T) {
	for _, subreaper := range []bool{false, true} {
		name := map[bool]string{false: "init", true: "subreaper"}[subreaper]
		t.Run(name, func(t *testing.T) {
			c := newMoveCluster(t)
			a, b := c.spaces["a"], c.spaces["b"]
			r := c.forkFrom("b", pidP, "a")
			ok(t, b.SetSubreaper(r, subreaper))
			q := c.fork("b", r)
			ok(t, b.SetNode(q, "a"))
			p := c.forkFrom("a", q, "b")
			ok(t, a.SetNode(p, "a"))
			ok(t, a.SetPdeathsig(p, int(syscall.SIGHUP)))

			rec, err := a.Export(p, "b")
			ok(t, err)
			exit, err := b.Exit(q, ExitedStatus(0), Rusage{})
			ok(t, err)
			if !slices.ContainsFunc(exit.Remote, func(e PeerEvent) bool { return e.Kind == ParentExited && e.To == "a" }) {
				t.Fatalf("q's exit: %+v", exit)
			}
			imp, err := b.Import(rec)
			ok(t, err)
			c.check()
			reaper := Target{PID: InitPID, Node: "b", Home: "b"}
			if subreaper {
				reaper = Target{PID: r, Node: "b", Home: "b"}
			}
			if !reflect.DeepEqual(imp.Reparented, []Reparenting{{PID: p, Parent: reaper}}) {
				t.Fatalf("import reparented %+v, want to %+v", imp.Reparented, reaper)
			}
			want := []DeathSignal{{Target: Target{PID: p, Node: "b", Home: "b"}, Signal: int(syscall.SIGHUP), Sender: q}}
			if !reflect.DeepEqual(imp.DeathSignals, want) {
				t.Fatalf("death signals %+v", imp.DeathSignals)
			}
			c.deliver(imp)
			if _, dropped := c.deliverDropping(exit); dropped != 1 {
				t.Fatalf("%d events dropped, want the ParentExited", dropped)
			}
			if ppid, _ := b.Getppid(p); ppid != reaper.PID {
				t.Fatalf("getppid at b = %d", ppid)
			}
		})
	}
}

// Every event naming a moved process at its old node comes back
// re-addressed to its new node, until the PID is returned.
func TestMoveForwardByKind(t *testing.T) {
	c := newMoveCluster(t)
	a := c.spaces["a"]
	c.move(pidP, "a", "b")
	kin := Kin{PID: 7000, PPID: pidP, Home: "c", Node: "c"}
	tests := []struct {
		ev      PeerEvent
		forward bool
	}{
		{PeerEvent{Kind: ChildForked, PID: pidP, Kin: kin}, true},
		{PeerEvent{Kind: ChildExited, PID: pidP, Kin: kin, Status: ExitedStatus(1)}, true},
		{PeerEvent{Kind: ChildStopped, PID: pidP, Kin: kin, Signal: int(syscall.SIGSTOP)}, true},
		{PeerEvent{Kind: ChildContinued, PID: pidP, Kin: kin}, true},
		{PeerEvent{Kind: ChildReaped, PID: pidP}, true},
		{PeerEvent{Kind: ParentExited, PID: pidP, OldParent: 100}, true},
		// P's child, and P's parent as a's stub shows it, changed.
		{PeerEvent{Kind: KinChanged, PID: 7000, Kin: kin}, true},
		{PeerEvent{Kind: KinChanged, PID: 100, Kin: Kin{PID: 100, PPID: InitPID, Home: "a"}}, true},
		// Kin of nobody that moved: applied (or ignored) here.
		{PeerEvent{Kind: KinChanged, PID: 7001, Kin: Kin{PID: 7001, PPID: 7002, Home: "c"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Kind.String(), func(t *testing.T) {
			tt.ev.To = "a"
			eff, err := a.Apply(tt.ev)
			ok(t, err)
			want := tt.ev
			want.To, want.PID = "b", pidP
			if got := len(eff.Remote) == 1 && reflect.DeepEqual(eff.Remote[0], want); got != tt.forward {
				t.Fatalf("a sends %+v, forward %v", eff.Remote, tt.forward)
			}
		})
	}
	a.Returned(pidP)
	if _, err := a.Apply(PeerEvent{To: "a", Kind: ChildReaped, PID: pidP}); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Returned: %v, want ESRCH", err)
	}
}

// A group signal sent while a member moves: the node it left lists it,
// with the node it went to (Export until the other node speaks of it),
// and once it is there, what it forked there is reached by the mark the
// old node gave (BornSince counts from its arrival).
func TestGroupSendDuringMove(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	kid := c.fork("a", pidP)
	rec, err := a.Export(kid, "b")
	ok(t, err)
	got, err := a.SignalTargets(pidP, 0, int(syscall.SIGTERM))
	ok(t, err)
	var mark GroupSend
	found := false
	for _, tg := range got {
		if tg.PID == kid {
			found, mark = true, tg.Group
			if tg.Node != "b" {
				t.Errorf("moving member listed on %s, want b", tg.Node)
			}
		}
	}
	if !found {
		t.Fatalf("kill(0) at a while %d moves to b = %+v: the member is missing", kid, got)
	}
	eff, err := b.Import(rec)
	ok(t, err)
	c.deliver(eff)
	grandkid := c.fork("b", kid)
	if got := b.BornSince(kid, mark); len(got) != 1 || got[0].PID != grandkid || got[0].Node != "b" {
		t.Errorf("BornSince at b of the moved member = %+v, want its child %d forked there", got, grandkid)
	}
}

// afterGroup is a node's Peers that runs then once, after the others
// answered a group question and before the asker goes on.
type afterGroup struct {
	peersOf
	then func()
}

func (p *afterGroup) Group(pgid int) GroupView {
	v := p.peersOf.Group(pgid)
	if f := p.then; f != nil {
		p.then = nil
		f()
	}
	return v
}

// The member of a group moves while its group is signalled: the node it
// went to answers the question before it took the process in, and says
// it did (KinChanged) before the asker looks at its own records. The
// asker, which answered for it as moving when it asked, still lists it.
func TestGroupSendCrossesArrival(t *testing.T) {
	c := newMoveCluster(t)
	a, b := c.spaces["a"], c.spaces["b"]
	kid := c.fork("a", pidP)
	ok(t, a.Setpgid(kid, kid, kid))
	rec, err := a.Export(kid, "b")
	ok(t, err)
	a.SetPeers(&afterGroup{peersOf: peersOf{c: c.twoNodes, self: "a"}, then: func() {
		eff, err := b.Import(rec)
		ok(t, err)
		c.deliver(eff)
	}})
	got, err := a.SignalTargets(pidP, -kid, int(syscall.SIGTERM))
	if err != nil || len(got) != 1 || got[0].PID != kid || got[0].Node != "b" {
		t.Fatalf("killpg of a group whose one member arrives at b meanwhile = %+v, %v; want it on b", got, err)
	}
}
