package pidspace

import (
	"maps"
	"slices"
	"syscall"
)

// A node that Raft's liveness declares down took its processes with it:
// NodeLost makes every other Space act as if each of them had been killed
// by SIGKILL at that moment. Nothing more will come from that node about
// them, and nothing sent there would be read, so the Space decides alone
// what their homes would have told it (ChildExited, ParentExited,
// ChildReaped) and tells the lost node nothing.

// lostStatus is the exit status of a process lost with its node.
var lostStatus = KilledStatus(syscall.SIGKILL, false)

// NodeLost records that node is down and that every process homed there
// is gone, killed by SIGKILL:
//   - a stub of such a process that is the child of a record here becomes
//     a zombie with a SIGKILL status, and its parent is notified as for
//     ChildExited (SIGCHLD with CLD_KILLED, waits retried, auto-reaping);
//   - a stub of such a process that is the parent of records here is
//     treated as having exited (ParentExited): they go to the nearest
//     live subreaper here, else this node's herd-init, with their
//     parent-death signals, and the groups this orphans are checked;
//   - events about records that moved there are no longer sent on;
//   - a PID this Space's allocator lent whose record died there is freed
//     here once nothing here refers to it, as on Returned. With Peers, a
//     PID some live node still holds a record of (it moved on) is not.
//
// Reaping a lost zombie later tells its home nothing. The caller carries
// out the Effects as any others; none of them is for node. With Peers it
// may block (orphan checks, the question about lent PIDs): call it off
// the tracer thread. Calling it again for the same node does nothing
// more; a node that comes back has no processes, and its stubs here are
// gone.
func (s *Space) NodeLost(node string) Effects {
	lent := s.freeableLent(node, s.lentTo(node))
	eff := s.nodeLost(node, lent)
	s.resolveOrphans(&eff)
	return eff
}

// lentTo returns the PIDs whose record went to node as far as this
// Space knows: moved there, or a stub homed there.
func (s *Space) lentTo(node string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for pid, m := range s.moved {
		if m.to == node {
			out = append(out, pid)
		}
	}
	for pid, p := range s.procs {
		if p.Stub && p.Home == node && !slices.Contains(out, pid) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// freeableLent keeps the PIDs of pids that this Space's allocator owns
// (BlockAllocator.Owns: this node is their lease holder) and that no
// live peer holds a record of. Without the lock: it asks the allocator
// and the peers.
func (s *Space) freeableLent(node string, pids []int) []int {
	owner, ok := s.alloc.(interface{ Owns(pid int) bool })
	if !ok || len(pids) == 0 {
		return nil
	}
	pids = slices.DeleteFunc(pids, func(pid int) bool { return !owner.Owns(pid) })
	if peers := s.getPeers(); peers != nil && len(pids) > 0 {
		for _, k := range peers.All() {
			if k.Home != node {
				pids = slices.DeleteFunc(pids, func(pid int) bool { return pid == k.PID })
			}
		}
	}
	return pids
}

// nodeLost is NodeLost under the lock; lent are the PIDs to own again.
func (s *Space) nodeLost(node string, lent []int) Effects {
	s.mu.Lock()
	defer s.unlock()
	var eff Effects
	if node == "" || node == s.node {
		return eff
	}
	for pid, m := range s.moved {
		if m.to == node {
			delete(s.moved, pid)
		}
	}
	for _, pid := range lent {
		delete(s.moved, pid)
		if p := s.procs[pid]; p == nil || p.Stub {
			s.own[pid] = true
			s.maybeFreeLocked(pid)
		}
	}
	var lost, killed []*proc
	for _, pid := range slices.Sorted(maps.Keys(s.procs)) {
		p := s.procs[pid]
		if !p.Stub || p.Home != node || p.lost {
			continue
		}
		lost = append(lost, p)
		p.lost = true
		if p.State != Zombie {
			// All at once, as one signal would kill them: none is a link
			// for another's orphan check.
			killed = append(killed, p)
			p.State, p.Status, p.StopSignal = Zombie, lostStatus, 0
			p.Usage, p.ChildUsage = Rusage{}, Rusage{}
			p.stopPending, p.contPending = false, false
		}
	}
	var groups []int
	for _, p := range lost {
		groups = s.lostParentLocked(p, groups, &eff)
	}
	for _, p := range killed {
		groups = s.lostChildLocked(p, groups, &eff)
	}
	for _, g := range groups {
		s.checkOrphanedLocked(g, &eff)
	}
	for _, p := range lost {
		if s.procs[p.PID] == p {
			s.dropStubLocked(p)
		}
	}
	eff.Remote = slices.DeleteFunc(eff.Remote, func(ev PeerEvent) bool { return ev.To == node })
	return eff
}

// lostParentLocked hands the children here of p, a lost stub, to the
// nearest live subreaper here or herd-init, as ParentExited would. It
// returns groups with those to check for orphaning added.
func (s *Space) lostParentLocked(p *proc, groups []int, eff *Effects) []int {
	reaper := s.findReaperLocked(p)
	for _, cpid := range slices.Clone(p.children) {
		c := s.procs[cpid]
		if c == nil || c.Stub {
			continue
		}
		p.children = slices.DeleteFunc(p.children, func(pid int) bool { return pid == cpid })
		if g := s.reparentLocked(c, p, reaper, eff); g != 0 && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return groups
}

// lostChildLocked notifies the parent here of p, a stub just killed with
// its node, as ChildExited would. Its group may be orphaned now, if its
// parent linked it; that is returned with groups.
func (s *Space) lostChildLocked(p *proc, groups []int, eff *Effects) []int {
	parent := s.procs[p.PPID]
	if parent == nil || parent.Stub || !slices.Contains(parent.children, p.PID) {
		return groups
	}
	if parent.PGID != p.PGID && parent.SID == p.SID && !slices.Contains(groups, p.PGID) {
		groups = append(groups, p.PGID)
	}
	s.notifyExitLocked(p, eff)
	return groups
}
