package pidspace

import (
	"reflect"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// lose takes node n out of the cluster as Raft's liveness does when it
// is declared down: its Space is gone (an event for it would fail the
// test in deliver), the others are no longer asked about it, and each
// survivor applies NodeLost. It returns each survivor's effects, which
// must tell n nothing, delivered to the others.
func (c *moveCluster) lose(n string) map[string]Effects {
	c.t.Helper()
	c.names = slices.DeleteFunc(c.names, func(m string) bool { return m == n })
	delete(c.spaces, n)
	delete(c.allocs, n)
	got := map[string]Effects{}
	for _, m := range c.names {
		eff := c.spaces[m].NodeLost(n)
		for _, ev := range eff.Remote {
			if ev.To == n {
				c.t.Fatalf("%s's NodeLost(%s) tells it %+v", m, n, ev)
			}
		}
		got[m] = eff
		c.check()
		c.deliver(eff)
	}
	return got
}

// P's children, forked at a, were placed on b; b dies while P waits:
// each wait reports SIGKILL, and their PIDs (a's, lent) are freed at a.
func TestNodeLostKillsChildren(t *testing.T) {
	c := newMoveCluster(t, "c")
	a := c.spaces["a"]
	k1 := c.fork("a", pidP)
	k2 := c.fork("a", pidP)
	for _, k := range []int{k1, k2} {
		c.move(k, "a", "b")
		ok(t, a.KernelGone(k)) // the image left at a, killed quietly
	}
	got := c.lose("b")["a"]
	atP := Target{PID: pidP, Node: "a", Home: "a"}
	var pids []int
	for _, n := range got.Notify {
		if n.Parent != atP || n.Signal != sigchld || n.Info.Code != CLD_KILLED || n.Info.Status != int(syscall.SIGKILL) {
			t.Fatalf("notification at a: %+v", n)
		}
		pids = append(pids, n.Info.PID)
	}
	if !slices.Equal(pids, []int{k1, k2}) || !slices.Contains(got.Retry, pidP) || len(got.Remote) != 0 {
		t.Fatalf("a after losing b: %+v", got)
	}
	for range 2 {
		res, err := a.Wait(pidP, Wait4(-1, 0))
		if err != nil || !res.Reaped || res.Status != KilledStatus(syscall.SIGKILL, false) || len(res.Remote) != 0 {
			t.Fatalf("wait at a: %+v, %v", res, err)
		}
		if c.allocs["a"].InUse(res.PID) {
			t.Errorf("lost child %d's PID still in use at its lease holder", res.PID)
		}
		if _, moved := a.Moved(res.PID); moved {
			t.Errorf("a still forwards events about %d", res.PID)
		}
	}
	if _, err := a.Wait(pidP, Wait4(-1, unix.WNOHANG)); err != syscall.ECHILD {
		t.Fatalf("wait after every child was reaped: %v", err)
	}
	// Losing it twice changes nothing.
	if again := a.NodeLost("b"); !reflect.DeepEqual(again, Effects{}) {
		t.Fatalf("second NodeLost: %+v", again)
	}
}

// A parent that ignores SIGCHLD gets no zombie and no signal; its
// waiters are retried.
func TestNodeLostAutoReaps(t *testing.T) {
	c := newMoveCluster(t)
	a := c.spaces["a"]
	ok(t, a.SetSigchldAction(pidP, SigchldAction{Ignored: true}))
	k := c.fork("a", pidP)
	c.move(k, "a", "b")
	ok(t, a.KernelGone(k))
	got := c.lose("b")["a"]
	if len(got.Notify) != 0 || !slices.Contains(got.Retry, pidP) {
		t.Fatalf("a after losing b: %+v", got)
	}
	if _, found := a.Lookup(k); found || c.allocs["a"].InUse(k) {
		t.Fatalf("lost child kept (%v) or its PID in use (%v)", found, c.allocs["a"].InUse(k))
	}
}

// Q, a child of P at a, moved to b and left its child R at a; b dies: R
// goes to the subreaper P, or to a's herd-init, with its parent-death
// signal, and Q is reported to P as killed.
func TestNodeLostReparentsChildren(t *testing.T) {
	for _, subreaper := range []bool{false, true} {
		name := map[bool]string{false: "init", true: "subreaper"}[subreaper]
		t.Run(name, func(t *testing.T) {
			c := newMoveCluster(t)
			a := c.spaces["a"]
			ok(t, a.SetSubreaper(pidP, subreaper))
			q := c.fork("a", pidP)
			r := c.fork("a", q)
			ok(t, a.SetPdeathsig(r, int(syscall.SIGTERM)))
			c.move(q, "a", "b")
			ok(t, a.KernelGone(q))
			got := c.lose("b")["a"]
			reaper := Target{PID: InitPID, Node: "a", Home: "a"}
			if subreaper {
				reaper = Target{PID: pidP, Node: "a", Home: "a"}
			}
			wantReparented(t, a, got, r, q, reaper)
			res, err := a.Wait(pidP, Wait4(q, 0))
			if err != nil || res.Status != KilledStatus(syscall.SIGKILL, false) {
				t.Fatalf("P's wait for Q: %+v, %v", res, err)
			}
		})
	}
}

// A stopped member's group loses its link with its parent on the lost
// node: it is orphaned with a stopped member (SIGHUP, SIGCONT).
func TestNodeLostOrphansGroup(t *testing.T) {
	c := newMoveCluster(t)
	a := c.spaces["a"]
	q := c.fork("a", pidP)
	r := c.fork("a", q)
	ok(t, a.Setpgid(r, r, 0))
	eff, err := a.Stopped(r, int(syscall.SIGTSTP))
	ok(t, err)
	c.deliver(eff)
	c.move(q, "a", "b")
	ok(t, a.KernelGone(q))
	got := c.lose("b")["a"]
	want := []OrphanedGroup{{PGID: r, Members: []Target{{PID: r, Node: "a", Home: "a"}}}}
	if !reflect.DeepEqual(got.OrphanedGroups, want) {
		t.Fatalf("orphaned groups: %+v", got.OrphanedGroups)
	}
}

// An orphan placed on b has no kin at a: its PID, a's, is free at a when
// b dies. One that moved on from b to c is alive: its PID stays in use,
// and a's stub of it is untouched.
func TestNodeLostFreesLentPIDs(t *testing.T) {
	c := newMoveCluster(t, "c")
	a := c.spaces["a"]
	q := c.fork("a", pidP)
	orphan := c.fork("a", q)
	gone := c.fork("a", pidP)
	c.exitAt("a", q, ExitedStatus(0))
	c.move(orphan, "a", "b")
	c.move(gone, "a", "b")
	c.move(gone, "b", "c")
	for _, k := range []int{orphan, gone} {
		ok(t, a.KernelGone(k))
	}
	ok(t, c.spaces["b"].KernelGone(gone))
	got := c.lose("b")["a"]
	if len(got.Notify) != 0 || len(got.Remote) != 0 {
		t.Fatalf("a after losing b: %+v", got)
	}
	if c.allocs["a"].InUse(orphan) {
		t.Errorf("the lost orphan's PID is still in use at a")
	}
	if p := c.wantRecord(gone, "c"); p.State != Running || !c.allocs["a"].InUse(gone) {
		t.Fatalf("the process that moved on: %+v, in use %v", p, c.allocs["a"].InUse(gone))
	}
	c.exitAt("c", gone, ExitedStatus(1))
	c.reapAt("a", pidP, gone, ExitedStatus(1))
}

// The lost node's record of a process whose parent is at a and children
// at c: a reports the kill, c reparents its children to its herd-init;
// b comes back empty and nothing it had resurrects.
func TestNodeLostThreeNodes(t *testing.T) {
	c := newMoveCluster(t, "c")
	a, cs := c.spaces["a"], c.spaces["c"]
	q := c.fork("a", pidP)
	c.move(q, "a", "b")
	ok(t, a.KernelGone(q))
	r := c.fork("b", q)
	c.move(r, "b", "c")
	ok(t, c.spaces["b"].KernelGone(r))
	got := c.lose("b")
	if len(got["a"].Notify) != 1 || got["a"].Notify[0].Info.PID != q {
		t.Fatalf("a: %+v", got["a"])
	}
	initC := Target{PID: InitPID, Node: "c", Home: "c"}
	if !reflect.DeepEqual(got["c"].Reparented, []Reparenting{{PID: r, Parent: initC}}) {
		t.Fatalf("c: %+v", got["c"])
	}
	if _, found := cs.Lookup(q); found {
		t.Errorf("c keeps a stub of the lost parent")
	}
	// b restarts with nothing: a and c keep no stub of its processes but
	// the zombie a's P has yet to wait for.
	c.add("b", nil)
	c.reapAt("a", pidP, q, KilledStatus(syscall.SIGKILL, false))
	for _, n := range []string{"a", "c"} {
		for _, p := range c.spaces[n].List() {
			if p.Home == "b" || p.Node == "b" {
				t.Errorf("%s lists %+v", n, p)
			}
		}
		if _, found := c.spaces[n].Lookup(q); found {
			t.Errorf("%s still knows the lost Q", n)
		}
	}
	eff, err := cs.Exit(r, ExitedStatus(0), Rusage{})
	ok(t, err)
	if !slices.Equal(eff.Reaped, []int{r}) || len(eff.Remote) != 0 {
		t.Fatalf("R's exit at c: %+v", eff)
	}
}

// wantReparented checks that s, on losing child's parent, handed child
// to reaper with SIGTERM, its parent-death signal, from parent.
func wantReparented(t *testing.T, s *Space, got Effects, child, parent int, reaper Target) {
	t.Helper()
	if !reflect.DeepEqual(got.Reparented, []Reparenting{{PID: child, Parent: reaper}}) {
		t.Fatalf("reparented at %s = %+v", s.node, got.Reparented)
	}
	at := Target{PID: child, Node: s.node, Home: s.node}
	want := []DeathSignal{{Target: at, Signal: int(syscall.SIGTERM), Sender: parent}}
	if !reflect.DeepEqual(got.DeathSignals, want) {
		t.Fatalf("death signals at %s = %+v", s.node, got.DeathSignals)
	}
	if ppid, _ := s.Getppid(child); ppid != reaper.PID {
		t.Fatalf("getppid at %s = %d", s.node, ppid)
	}
}

// exitAt has pid exit at node n and delivers what that tells the others.
func (c *moveCluster) exitAt(n string, pid int, status WaitStatus) {
	c.t.Helper()
	eff, err := c.spaces[n].Exit(pid, status, Rusage{})
	ok(c.t, err)
	c.deliver(eff)
}
