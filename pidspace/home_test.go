package pidspace

import (
	"errors"
	"reflect"
	"slices"
	"syscall"
	"testing"
)

// twoNodes is a cluster of two Spaces in one process, "a" and "b", joined
// by in-process Peers. On a: herd-init, launcher 100 (session 100) and its
// program P=4096 (group 4096). P's PID comes from a's block (a is home);
// PIDs from 5120 up are b's.
type twoNodes struct {
	t      *testing.T
	names  []string
	spaces map[string]*Space
	freed  map[string]*recAlloc
}

// peersOf is the Peers of one node of a twoNodes: the other Space asked
// directly, as the node asks its peers over RPC.
type peersOf struct {
	c    *twoNodes
	self string
}

func (p peersOf) others() []*Space {
	var out []*Space
	for _, n := range p.c.names {
		if n != p.self {
			out = append(out, p.c.spaces[n])
		}
	}
	return out
}

func (p peersOf) Group(pgid int) GroupView {
	var v GroupView
	for _, s := range p.others() {
		g := s.LocalGroup(pgid)
		v.Members = append(v.Members, g.Members...)
		v.Linked = v.Linked || g.Linked
	}
	return v
}

func (p peersOf) All() []Kin {
	var out []Kin
	for _, s := range p.others() {
		out = append(out, s.LocalAll()...)
	}
	return out
}

const (
	pidP  = 4096 // homed on a
	pidC  = 5120 // homed on b
	pidC2 = 5121 // homed on b
)

func newTwoNodes(t *testing.T) *twoNodes {
	t.Helper()
	c := &twoNodes{t: t, spaces: map[string]*Space{}, freed: map[string]*recAlloc{}}
	for _, n := range []string{"a", "b"} {
		c.freed[n] = &recAlloc{}
		c.add(n, c.freed[n])
	}
	a := c.spaces["a"]
	ok(t, a.AddVirtual(100, userCreds, "sh"))
	ok(t, a.Spawn(SpawnArgs{PPID: 100, PID: pidP, Creds: userCreds, Comm: "prog", Args: "prog"}))
	return c
}

// add adds node n, with its herd-init, freeing PIDs to alloc.
func (c *twoNodes) add(n string, alloc Allocator) *Space {
	s := NewSpace(n, alloc)
	ok(c.t, s.AddInit())
	s.SetPeers(peersOf{c: c, self: n})
	c.names = append(c.names, n)
	c.spaces[n] = s
	return s
}

// forkOnB migrates parent (homed on a) to b, where it forks child: the
// fork is recorded at b and told to a.
func (c *twoNodes) forkOnB(parent, child int) {
	c.t.Helper()
	a, b := c.spaces["a"], c.spaces["b"]
	ok(c.t, a.SetNode(parent, "b"))
	k, err := a.Kin(parent)
	ok(c.t, err)
	eff, err := b.ForkFrom(k, child, sigchld)
	ok(c.t, err)
	c.deliver(eff)
}

// deliver applies eff.Remote at each event's home, and what that yields,
// until nothing is left; it returns the effects each node got from it.
func (c *twoNodes) deliver(eff Effects) map[string]Effects {
	c.t.Helper()
	got := map[string]Effects{}
	queue := slices.Clone(eff.Remote)
	for n := 0; len(queue) > 0; n++ {
		ev := queue[0]
		queue = queue[1:]
		if n > 1000 {
			for _, n := range c.names {
				c.t.Logf("%s moved %v\n%v", n, c.spaces[n].moved, c.spaces[n])
			}
			c.t.Fatalf("events go round: %+v", ev)
		}
		e, err := c.spaces[ev.To].Apply(ev)
		if err != nil {
			c.t.Fatalf("apply %+v at %s: %v", ev, ev.To, err)
		}
		got[ev.To] = merge(got[ev.To], e)
		queue = append(queue, e.Remote...)
	}
	for n, s := range c.spaces {
		if err := checkInvariants(s); err != nil {
			c.t.Fatalf("node %s: %v\n%v", n, err, s)
		}
	}
	return got
}

// reap has parent, homed on a, wait for child, homed on b, which must
// have exited with status; the record at b goes.
func (c *twoNodes) reap(parent, child int, status WaitStatus) {
	c.t.Helper()
	res, err := c.spaces["a"].Wait(parent, Wait4(child, 0))
	if err != nil || res.PID != child || res.Status != status || !res.Reaped {
		c.t.Fatalf("wait of %d for %d: %+v, %v", parent, child, res, err)
	}
	c.deliver(Effects{Remote: res.Remote})
	if _, found := c.spaces["b"].Lookup(child); found {
		c.t.Errorf("zombie %d kept at b after its parent reaped it", child)
	}
}

func merge(a, b Effects) Effects {
	a.Notify = append(a.Notify, b.Notify...)
	a.Reparented = append(a.Reparented, b.Reparented...)
	a.DeathSignals = append(a.DeathSignals, b.DeathSignals...)
	a.OrphanedGroups = append(a.OrphanedGroups, b.OrphanedGroups...)
	a.Reaped = append(a.Reaped, b.Reaped...)
	a.Retry = append(a.Retry, b.Retry...)
	a.RetryAt = append(a.RetryAt, b.RetryAt...)
	return a
}

func TestTwoHomesForkWaitExit(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.forkOnB(pidP, pidC)

	if kids, err := a.Children(pidP); err != nil || !slices.Equal(kids, []int{pidC}) {
		t.Fatalf("children of P at a = %v, %v", kids, err)
	}
	stub, _ := a.Lookup(pidC)
	child, _ := b.Lookup(pidC)
	if !stub.Stub || stub.Home != "b" || child.Stub || child.Home != "b" || child.Node != "b" || child.PPID != pidP || child.PGID != pidP || child.SID != 100 {
		t.Fatalf("stub at a %+v, record at b %+v", stub, child)
	}
	if slices.ContainsFunc(a.List(), func(p Process) bool { return p.PID == pidC }) {
		t.Errorf("a lists b's process %d", pidC)
	}
	if _, err := a.Wait(pidP, Wait4(-1, 0)); err != ErrWouldBlock {
		t.Fatalf("wait before exit: %v, want ErrWouldBlock", err)
	}

	wantTo := Target{PID: pidP, Node: "b", Home: "a"}
	// Exit at b: the zombie waits for P's wait at a.
	eff, err := b.Exit(pidC, ExitedStatus(3), Rusage{Nvcsw: 7})
	ok(t, err)
	if len(eff.Notify) != 0 || len(eff.Reaped) != 0 {
		t.Fatalf("exit at b notified locally: %+v", eff)
	}
	at := c.deliver(eff)["a"]
	wantExit := []Notification{{Parent: wantTo, Signal: sigchld, Info: ChildInfo{PID: pidC, UID: 1000, Code: CLD_EXITED, Status: 3}}}
	if !reflect.DeepEqual(at.Notify, wantExit) || !slices.Equal(at.Retry, []int{pidP}) {
		t.Fatalf("a after exit: %+v", at)
	}
	res, err := a.Wait(pidP, Wait4(-1, 0))
	if err != nil || res.PID != pidC || res.Status != ExitedStatus(3) || !res.Reaped {
		t.Fatalf("wait: %+v, %v", res, err)
	}
	if len(res.Remote) != 1 || res.Remote[0] != (PeerEvent{To: "b", Kind: ChildReaped, PID: pidC}) {
		t.Fatalf("wait's remote events = %+v", res.Remote)
	}
	if usage, _ := a.ChildrenRusage(pidP); usage.Nvcsw != 7 {
		t.Errorf("children usage at a = %+v", usage)
	}
	atB := c.deliver(Effects{Remote: res.Remote})["b"]
	if !slices.Equal(atB.Reaped, []int{pidC}) {
		t.Fatalf("b after reap: %+v", atB)
	}
	for n, s := range c.spaces {
		if _, found := s.Lookup(pidC); found {
			t.Errorf("%d still known at %s", pidC, n)
		}
	}
	if _, found := b.Lookup(pidP); found {
		t.Errorf("stub of P kept at b with no child there")
	}
	ok(t, b.KernelGone(pidC))
	if got := c.freed["b"].take(); !slices.Equal(got, []int{pidC}) {
		t.Errorf("b freed %v, want [%d]", got, pidC)
	}
	if got := c.freed["a"].take(); len(got) != 0 {
		t.Errorf("a freed %v: not its PIDs", got)
	}
}

// A child homed on b stops and continues: a, the parent's home, notifies
// the parent where it runs (b) and reports the stop to its wait.
func TestTwoHomesStopContinue(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.forkOnB(pidP, pidC)
	// Stop at b: a notifies P, which runs on b.
	eff, err := b.Stopped(pidC, int(syscall.SIGTSTP))
	ok(t, err)
	if len(eff.Notify) != 0 || len(eff.Remote) != 1 || eff.Remote[0].To != "a" {
		t.Fatalf("stop at b: %+v", eff)
	}
	at := c.deliver(eff)["a"]
	wantTo := Target{PID: pidP, Node: "b", Home: "a"}
	wantStop := []Notification{{Parent: wantTo, Signal: sigchld, Info: ChildInfo{PID: pidC, UID: 1000, Code: CLD_STOPPED, Status: int(syscall.SIGTSTP)}}}
	if !reflect.DeepEqual(at.Notify, wantStop) || !reflect.DeepEqual(at.RetryAt, []Target{wantTo}) {
		t.Fatalf("a after stop: notify %+v retry %+v", at.Notify, at.RetryAt)
	}
	if res, err := a.Wait(pidP, Wait4(-1, int(syscall.WUNTRACED))); err != nil || res.PID != pidC || res.Code != CLD_STOPPED {
		t.Fatalf("wait for stop: %+v, %v", res, err)
	}
	eff, err = b.Continued(pidC)
	ok(t, err)
	if at := c.deliver(eff)["a"]; len(at.Notify) != 1 || at.Notify[0].Info.Code != CLD_CONTINUED {
		t.Fatalf("a after continue: %+v", at)
	}

}

func TestTwoHomesAutoReap(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	ok(t, a.SetSigchldAction(pidP, SigchldAction{Ignored: true}))
	c.forkOnB(pidP, pidC)
	eff, err := b.Exit(pidC, ExitedStatus(0), Rusage{})
	ok(t, err)
	got := c.deliver(eff)
	if len(got["a"].Notify) != 0 || !slices.Equal(got["b"].Reaped, []int{pidC}) {
		t.Fatalf("SIG_IGN parent: %+v", got)
	}
	if _, err := a.Wait(pidP, Wait4(-1, 0)); err != syscall.ECHILD {
		t.Errorf("wait after auto-reap: %v, want ECHILD", err)
	}
}

func TestTwoHomesParentExitReparentsToInit(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.forkOnB(pidP, pidC)
	// The child's parent-death signal is its home's state.
	ok(t, b.SetPdeathsig(pidC, int(syscall.SIGTERM)))

	eff, err := a.Exit(pidP, ExitedStatus(0), Rusage{})
	ok(t, err)
	want := PeerEvent{To: "b", Kind: ParentExited, PID: pidC, OldParent: pidP}
	if !slices.Contains(eff.Remote, want) || len(eff.DeathSignals) != 0 {
		t.Fatalf("exit at a: %+v", eff)
	}
	atB := c.deliver(eff)["b"]
	initB := Target{PID: InitPID, Node: "b", Home: "b"}
	if !reflect.DeepEqual(atB.Reparented, []Reparenting{{PID: pidC, Parent: initB}}) {
		t.Errorf("reparented at b = %+v", atB.Reparented)
	}
	wantDeath := []DeathSignal{{Target: Target{PID: pidC, Node: "b", Home: "b"}, Signal: int(syscall.SIGTERM), Sender: pidP}}
	if !reflect.DeepEqual(atB.DeathSignals, wantDeath) {
		t.Errorf("death signals at b = %+v", atB.DeathSignals)
	}
	if ppid, _ := b.Getppid(pidC); ppid != InitPID {
		t.Errorf("ppid at b = %d", ppid)
	}
	if _, found := a.Lookup(pidC); found {
		t.Errorf("a keeps a stub of %d after handing it to b's init", pidC)
	}
	// b's herd-init reaps it at once.
	eff, err = b.Exit(pidC, ExitedStatus(0), Rusage{})
	ok(t, err)
	if !slices.Equal(eff.Reaped, []int{pidC}) || len(eff.Remote) != 0 {
		t.Errorf("orphan exit at b: %+v", eff)
	}
}

func TestTwoHomesParentExitReparentsToSubreaper(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	const mid = 4097 // P's child on a, the parent of C
	ok(t, a.SetSubreaper(pidP, true))
	ok(t, a.Fork(pidP, mid, sigchld))
	c.forkOnB(mid, pidC)
	c.forkOnB(mid, pidC2)
	// C exits first: a zombie handed over with its parent's exit.
	eff, err := b.Exit(pidC, ExitedStatus(4), Rusage{})
	ok(t, err)
	c.deliver(eff)

	eff, err = a.Exit(mid, ExitedStatus(0), Rusage{})
	ok(t, err)
	subreaper := Target{PID: pidP, Node: "a", Home: "a"}
	zombie := Notification{Parent: subreaper, Signal: sigchld, Info: ChildInfo{PID: pidC, UID: 1000, Code: CLD_EXITED, Status: 4}}
	if !slices.Contains(eff.Notify, zombie) || !slices.Contains(eff.Retry, pidP) {
		t.Fatalf("exit of %d at a: %+v", mid, eff)
	}
	atB := c.deliver(eff)["b"]
	if len(atB.Reparented) != 2 || atB.Reparented[0].Parent != subreaper || len(atB.Notify) != 0 {
		t.Fatalf("b after parent exit: %+v", atB)
	}
	if ppid, _ := b.Getppid(pidC2); ppid != pidP {
		t.Fatalf("ppid of %d at b = %d, want the subreaper", pidC2, ppid)
	}
	kids, _ := a.Children(pidP)
	if !slices.Equal(kids, []int{mid, pidC, pidC2}) {
		t.Fatalf("subreaper's children at a = %v", kids)
	}
	// The subreaper reaps both: the handed-over zombie, then C2's exit.
	c.reap(pidP, pidC, ExitedStatus(4))
	eff, err = b.Exit(pidC2, ExitedStatus(5), Rusage{})
	ok(t, err)
	if at := c.deliver(eff)["a"]; len(at.Notify) != 1 || at.Notify[0].Parent != subreaper {
		t.Fatalf("C2's exit at a: %+v", at)
	}
	c.reap(pidP, pidC2, ExitedStatus(5))
	if _, found := b.Lookup(pidP); found {
		t.Errorf("b keeps the subreaper's stub")
	}
}

func TestTwoHomesOrphanedGroup(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.forkOnB(pidP, pidC)
	// C makes its own group (at its home, b) and tells a.
	ok(t, b.Setpgid(pidC, 0, 0))
	c.deliver(Effects{Remote: b.KinChanged(pidC)})
	if g, _ := a.Lookup(pidC); g.PGID != pidC {
		t.Fatalf("stub's group at a = %d", g.PGID)
	}
	eff, err := b.Stopped(pidC, int(syscall.SIGTSTP))
	ok(t, err)
	c.deliver(eff)
	for n, s := range c.spaces {
		if s.OrphanedPgrp(pidC) {
			t.Errorf("%s: group %d orphaned while P links it", n, pidC)
		}
	}
	// P (group 4096, session 100) was C's group's only link.
	eff, err = a.Exit(pidP, ExitedStatus(0), Rusage{})
	ok(t, err)
	if len(eff.OrphanedGroups) != 0 {
		t.Errorf("a decided before b heard of the exit: %+v", eff.OrphanedGroups)
	}
	atB := c.deliver(eff)["b"]
	want := []OrphanedGroup{{PGID: pidC, Members: []Target{{PID: pidC, Node: "b", Home: "b"}}}}
	if !reflect.DeepEqual(atB.OrphanedGroups, want) {
		t.Errorf("orphaned at b = %+v, want %+v", atB.OrphanedGroups, want)
	}
	for n, s := range c.spaces {
		if !s.OrphanedPgrp(pidC) {
			t.Errorf("%s: group %d not orphaned", n, pidC)
		}
	}
}

// A group with members on both nodes: a stopped member on b, its link on
// a. The exit that unlinks it is decided at a, with b's members.
func TestTwoHomesOrphanedGroupSpansNodes(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	const q = 4097 // P's child on a, in group P
	ok(t, a.Fork(pidP, q, sigchld))
	c.forkOnB(q, pidC) // C in group P too, homed on b
	eff, err := b.Stopped(pidC, int(syscall.SIGSTOP))
	ok(t, err)
	c.deliver(eff)
	// P's group is linked by P itself (parent 100 is in group 100).
	eff, err = a.Exit(pidP, ExitedStatus(0), Rusage{})
	ok(t, err)
	want := []OrphanedGroup{{PGID: pidP, Members: []Target{{PID: q, Node: "b", Home: "a"}, {PID: pidC, Node: "b", Home: "b"}}}}
	if !reflect.DeepEqual(eff.OrphanedGroups, want) {
		t.Errorf("orphaned = %+v, want %+v", eff.OrphanedGroups, want)
	}
	c.deliver(eff)
}

func TestTwoHomesKillAcrossNodes(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.forkOnB(pidP, pidC)
	c.forkOnB(pidP, pidC2)
	ok(t, b.Setpgid(pidC2, 0, 0))
	c.deliver(Effects{Remote: b.KinChanged(pidC2)})
	tP := Target{PID: pidP, Node: "b", Home: "a"}
	tC := Target{PID: pidC, Node: "b", Home: "b"}
	tC2 := Target{PID: pidC2, Node: "b", Home: "b"}
	tests := []struct {
		name             string
		s                *Space
		sender, pid, sig int
		want             []Target
		err              error
	}{
		{"group from a", a, pidP, -pidP, int(syscall.SIGTERM), []Target{tP, tC}, nil},
		{"own group from b", b, pidC, 0, int(syscall.SIGTERM), []Target{tP, tC}, nil},
		{"group homed on b from a", a, pidP, -pidC2, int(syscall.SIGTERM), []Target{tC2}, nil},
		{"-1 from b", b, pidC, -1, int(syscall.SIGTERM), []Target{tP, tC2}, nil},
		{"-1 from a", a, pidP, -1, int(syscall.SIGTERM), []Target{tC, tC2}, nil},
		{"probe a group elsewhere", a, pidP, -pidC2, 0, nil, nil},
		{"no such group", a, pidP, -7000, int(syscall.SIGTERM), nil, syscall.ESRCH},
		{"pid of a stub", a, pidP, pidC, int(syscall.SIGTERM), []Target{tC}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.SignalTargets(tt.sender, tt.pid, tt.sig)
			got = unmarked(got)
			if !errors.Is(err, tt.err) && err != tt.err || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SignalTargets(%d, %d, %d) = %+v, %v; want %+v, %v", tt.sender, tt.pid, tt.sig, got, err, tt.want, tt.err)
			}
		})
	}
	// Other credentials see EPERM from a group spread over both nodes.
	ok(t, b.SetCreds(pidC, otherCreds))
	ok(t, a.SetCreds(pidP, otherCreds))
	if _, err := b.SignalTargets(pidC2, -pidP, int(syscall.SIGTERM)); err != syscall.EPERM {
		t.Errorf("kill(-P) by another user: %v, want EPERM", err)
	}
}

func TestRemoteOperationsOnUnknownRecords(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	ghost := Kin{PID: 6000, Home: "b", Node: "b"}
	if _, err := a.Apply(PeerEvent{Kind: ChildExited, PID: pidP, Kin: ghost}); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("exit of an unknown child: %v", err)
	}
	if _, err := b.Apply(PeerEvent{Kind: ChildReaped, PID: 6000}); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("reap of an unknown record: %v", err)
	}
	if _, err := b.Apply(PeerEvent{Kind: 99}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("unknown event: %v", err)
	}
	if err := a.SetNode(6000, "b"); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("set node of unknown: %v", err)
	}
	c.forkOnB(pidP, pidC)
	if err := a.Setpgid(pidP, pidC, 0); err != ErrElsewhere {
		t.Errorf("setpgid of a child homed elsewhere: %v, want ErrElsewhere", err)
	}
	if _, err := a.Exit(pidC, 0, Rusage{}); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("local exit of a stub: %v", err)
	}
}

// The child's exit and its parent's exit cross on the wire: the exit
// reaches the parent's home after the stub went to a subreaper there, and
// is reported to the subreaper.
func TestTwoHomesExitsCrossToSubreaper(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	const mid = 4097
	ok(t, a.SetSubreaper(pidP, true))
	ok(t, a.Fork(pidP, mid, sigchld))
	c.forkOnB(mid, pidC)
	childExit, err := b.Exit(pidC, ExitedStatus(6), Rusage{})
	ok(t, err)
	parentExit, err := a.Exit(mid, ExitedStatus(0), Rusage{})
	ok(t, err)
	at := c.deliver(childExit)["a"]
	if len(at.Notify) != 1 || at.Notify[0].Parent.PID != pidP || at.Notify[0].Info.Status != 6 {
		t.Fatalf("late exit at a: %+v", at)
	}
	if atB := c.deliver(parentExit)["b"]; len(atB.Notify) != 0 || len(atB.Reaped) != 0 {
		t.Fatalf("b after the parent's exit: %+v", atB)
	}
	c.reap(pidP, pidC, ExitedStatus(6))
}

// The same crossing with no subreaper: the parent's home forgot the child
// (ESRCH, dropped by the node) and the child's herd-init reaps it.
func TestTwoHomesExitsCrossToInit(t *testing.T) {
	c := newTwoNodes(t)
	a, b := c.spaces["a"], c.spaces["b"]
	c.forkOnB(pidP, pidC)
	childExit, err := b.Exit(pidC, ExitedStatus(6), Rusage{})
	ok(t, err)
	parentExit, err := a.Exit(pidP, ExitedStatus(0), Rusage{})
	ok(t, err)
	if _, err := a.Apply(childExit.Remote[0]); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("late exit at a: %v, want ESRCH", err)
	}
	if atB := c.deliver(parentExit)["b"]; !slices.Equal(atB.Reaped, []int{pidC}) {
		t.Fatalf("b after the parent's exit: %+v", atB)
	}
}
