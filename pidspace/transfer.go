package pidspace

import (
	"fmt"
	"slices"
	"syscall"
)

// A record moves with its process: when a process is placed on another
// node (at exec, later by migration), its node takes the record out with
// Export and sends it; the new node takes it in with Import. From then on
// the new node's Space answers for the process and its kin elsewhere
// reach it through stubs and PeerEvents, as for a process created there.
// The PID stays lent: no Space frees it until the record is removed for
// good, and a node whose allocator does not own it hands it back to the
// lease holder (BlockAllocator.SetForeign, Space.Returned).

// Record is everything a Space keeps about one live process, plain data
// for the wire: its Process fields, the bookkeeping behind wait,
// setpgid's EACCES and clone-child signals, its parent and its children
// as their nodes last told (Parent.PID 0: no parent).
type Record struct {
	Process Process
	// Gen is the version of the record's view (Kin.Gen); a move is a
	// change, so Export bumps it.
	Gen uint64
	// ExecID counts the process's execs; ParentExecID is its parent's
	// count when it was forked (the kernel's self_exec_id/parent_exec_id).
	ExecID, ParentExecID uint64
	// StopPending and ContPending: a stop or continue of the process not
	// yet reported to its parent's wait.
	StopPending, ContPending bool
	Parent                   Kin
	// Children in the order wait considers them, zombies included.
	Children []ChildRecord
}

// ChildRecord is one child in a Record: the child as a Kin and what its
// parent's wait reports about it.
type ChildRecord struct {
	Kin
	Status                   WaitStatus // exit status of a zombie
	Usage, ChildUsage        Rusage     // reported at exit
	StopPending, ContPending bool
	ParentExecID             uint64
}

// movedTo is where an exported record went, and its parent then: events
// about the process, or about that parent (KinChanged), are sent on.
type movedTo struct {
	to     string
	parent int
}

// Export takes the record of pid out of this Space, for node to. pid
// becomes a stub homed and running at to if a record here still links to
// it (its parent, or one of its children), else it goes; either way the
// Space remembers where it went and Apply sends events about it there,
// until Returned(pid). Its PID is not freed here: the process lives on.
// Kin of pid kept here only for pid's sake (stubs of its remote parent or
// children) go too. Errors: ESRCH if pid has no live record here; EINVAL
// for herd-init, a Virtual record, a stub or a zombie; EEXIST if to is
// this node.
func (s *Space) Export(pid int, to string) (Record, error) {
	s.mu.Lock()
	defer s.unlock()
	p := s.procs[pid]
	switch {
	case to == s.node || to == "":
		return Record{}, fmt.Errorf("export %d to %q: %w", pid, to, syscall.EEXIST)
	case p == nil:
		return Record{}, fmt.Errorf("export %d: %w", pid, syscall.ESRCH)
	case pid == InitPID || p.Virtual || p.Stub || p.State == Zombie:
		return Record{}, fmt.Errorf("export %d: %w", pid, syscall.EINVAL)
	}
	r := s.recordLocked(p)
	r.Process.Home, r.Process.Node = to, to
	p.Stub, p.Home, p.Node, p.gen, p.transit = true, to, to, r.Gen, true
	// The kernel task (kernel[pid]) stays known: KernelGone for the image
	// left here is expected, and frees nothing as the PID is not own.
	delete(s.own, pid)
	s.moved[pid] = movedTo{to: to, parent: p.PPID}
	s.unlinkStubsLocked(p)
	if !s.linksLocalLocked(p) {
		s.removeLocked(p)
	}
	return r, nil
}

// unlinkStubsLocked drops the links of p, a record that just became a
// stub, to other stubs (kept at their homes only), and the stubs that
// linked nothing but p. A parent that is herd-init is the new node's
// herd-init now.
func (s *Space) unlinkStubsLocked(p *proc) {
	for _, cpid := range slices.Clone(p.children) {
		c := s.procs[cpid]
		if !c.Stub {
			continue
		}
		p.children = slices.DeleteFunc(p.children, func(pid int) bool { return pid == cpid })
		if !s.linksLocalLocked(c) {
			s.removeLocked(c)
		}
	}
	parent := s.procs[p.PPID]
	if parent == nil || (!parent.Stub && p.PPID != InitPID) {
		return
	}
	parent.children = slices.DeleteFunc(parent.children, func(c int) bool { return c == p.PID })
	if p.PPID == InitPID {
		p.PPID = 0
	} else if !s.linksLocalLocked(parent) {
		s.removeLocked(parent)
	}
}

// recordLocked is the Record of p, a live record homed here.
func (s *Space) recordLocked(p *proc) Record {
	r := Record{
		Process: p.Process, Gen: p.gen + 1,
		ExecID: p.execID, ParentExecID: p.parentExecID,
		StopPending: p.stopPending, ContPending: p.contPending,
	}
	// Wall clock only: a monotonic reading means nothing on another node.
	r.Process.StartTime = p.StartTime.Round(0).UTC()
	if parent := s.procs[p.PPID]; parent != nil {
		r.Parent = parent.kin()
	}
	for _, cpid := range p.children {
		c := s.procs[cpid]
		r.Children = append(r.Children, ChildRecord{
			Kin: c.kin(), Status: c.Status, Usage: c.Usage, ChildUsage: c.ChildUsage,
			StopPending: c.stopPending, ContPending: c.contPending, ParentExecID: c.parentExecID,
		})
	}
	return r
}

// linksLocalLocked reports whether stub p links a record homed here: it
// is the parent of one, or its parent is one.
func (s *Space) linksLocalLocked(p *proc) bool {
	for _, cpid := range p.children {
		if !s.procs[cpid].Stub {
			return true
		}
	}
	parent := s.procs[p.PPID]
	return parent != nil && !parent.Stub && slices.Contains(parent.children, p.PID)
}

// Returned records that pid came back to its lease holder (the node where
// its record was finally removed freed it there): events about it are no
// longer sent on, and this Space, the lease holder's, owns the PID again:
// it frees it (through its allocator) once nothing here refers to it, a
// group or session of that id included. The lease holder's node calls it
// when the PID comes back. Other nodes the record passed through keep
// their entry (a PID and a node name) until their Returned, Import of
// the PID, or forever: a stale entry only forwards events nobody sends
// any more.
func (s *Space) Returned(pid int) {
	s.mu.Lock()
	defer s.unlock()
	delete(s.moved, pid)
	if p := s.procs[pid]; p == nil || p.Stub {
		s.own[pid] = true
		s.maybeFreeLocked(pid)
	}
}

// Moved returns the node an exported record went to, until Returned.
func (s *Space) Moved(pid int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.moved[pid]
	return m.to, ok
}

// Import takes in the record of a process placed on this node (Export at
// its previous node): it becomes a record homed and running here. A stub
// of it here becomes the record, keeping its place among its parent's
// children. Its parent is linked: a record here, herd-init here for an
// orphan (Parent.PID InitPID), else a stub of r.Parent. So are its
// children: records here whose parent it was already, stubs of the others
// (with what wait reports of them). Effects.Remote tells every other node
// holding a stub of it where it is now (KinChanged).
//
// Events about it that left before its kin heard of the move are
// forwarded here by the previous node (Apply); those about children
// homed here come back to records that already changed, and are applied
// as the notifications they carry. Two cases are settled here at once: a
// zombie child homed here that the Record no longer lists was reaped at
// the previous node (its ChildReaped is on its way) and is reaped now,
// listed in Effects.Reaped; a parent homed here that exited meanwhile
// already handed the process on (its ParentExited is on its way), and
// the process is reparented now as ParentExited would.
//
// Errors: EINVAL for a record of herd-init, a Virtual record, a zombie or
// one homed nowhere; EEXIST if pid has a record here that is not a stub.
func (s *Space) Import(r Record) (Effects, error) {
	eff, err := s.importRecord(r)
	if err != nil {
		return Effects{}, err
	}
	s.resolveOrphans(&eff)
	return eff, nil
}

func (s *Space) importRecord(r Record) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	pid := r.Process.PID
	if pid <= InitPID || r.Process.Virtual || r.Process.State == Zombie {
		return Effects{}, fmt.Errorf("import %d: %w", pid, syscall.EINVAL)
	}
	if old := s.procs[pid]; old != nil && !old.Stub {
		return Effects{}, fmt.Errorf("import %d: %w", pid, syscall.EEXIST)
	}
	var eff Effects
	p := s.placeLocked(r)
	s.linkParentLocked(p, r.Parent, &eff)
	s.linkChildrenLocked(p, r.Children, &eff)
	delete(s.moved, pid)
	eff.Remote = append(eff.Remote, s.kinChangedLocked(p)...)
	return eff, nil
}

// placeLocked makes r's process a record homed here: its stub here in
// place, or a new record with no parent yet (linkParentLocked links it).
func (s *Space) placeLocked(r Record) *proc {
	pr := r.Process
	pr.Stub, pr.Home, pr.Node = false, s.node, s.node
	p := s.procs[pr.PID]
	if p == nil {
		pr.PPID = 0
		p = &proc{Process: pr}
		s.insertLocked(p)
	} else {
		// The stub's links are this Space's; the group and session go
		// through joinLocked to keep their counts.
		pgid, sid := pr.PGID, pr.SID
		pr.PPID, pr.PGID, pr.SID = p.PPID, p.PGID, p.SID
		p.Process = pr
		if p.PGID != pgid || p.SID != sid {
			s.joinLocked(p, pgid, sid)
		}
		s.own[p.PID] = true
		s.kernel[p.PID] = true
	}
	p.execID, p.parentExecID = r.ExecID, r.ParentExecID
	p.stopPending, p.contPending = r.StopPending, r.ContPending
	p.gen = r.Gen
	p.arrived, p.imported = s.forks, true
	return p
}

// setParentLocked makes parent (nil: none) p's parent, moving p out of
// its previous parent's children here.
func (s *Space) setParentLocked(p, parent *proc) {
	ppid := 0
	if parent != nil {
		ppid = parent.PID
	}
	if p.PPID == ppid && (parent == nil || slices.Contains(parent.children, p.PID)) {
		return
	}
	old := s.procs[p.PPID]
	if old != nil {
		old.children = slices.DeleteFunc(old.children, func(c int) bool { return c == p.PID })
	}
	p.PPID = ppid
	if parent != nil {
		parent.children = append(parent.children, p.PID)
	}
	if old != nil && old != parent {
		// A stale stub parent kept for p alone goes.
		s.dropStubLocked(old)
	}
}

// linkParentLocked links p, just placed, to its parent k as its previous
// node saw it.
func (s *Space) linkParentLocked(p *proc, k Kin, eff *Effects) {
	switch k.PID {
	case 0:
		s.setParentLocked(p, nil)
		return
	case InitPID:
		// An orphan's parent is the herd-init of the node it runs on.
		s.setParentLocked(p, s.procs[InitPID])
		return
	}
	q := s.procs[k.PID]
	switch {
	case q == nil && k.Home != s.node:
		q = k.stub()
		s.insertLocked(q)
	case q != nil && q.Stub:
		s.refreshLocked(q, k)
	case q != nil && q.State != Zombie:
		// A record here: p's stub is among its children already.
	default:
		// The parent, homed here, exited (or was reaped) while p moved,
		// and handed p's stub to a subreaper here or to herd-init; the
		// ParentExited it sent to p's previous node will find nothing.
		s.adoptedLocked(p, k, eff)
		return
	}
	s.setParentLocked(p, q)
}

// adoptedLocked reparents p, whose parent k homed here exited while p
// moved, where that exit handed it: the subreaper here holding p's stub,
// else herd-init; with ParentExited's effects (exit signal, parent-death
// signal, orphaned group).
func (s *Space) adoptedLocked(p *proc, k Kin, eff *Effects) {
	reaper := s.procs[InitPID]
	if cur := s.procs[p.PPID]; cur != nil && cur.PID != k.PID && !cur.Stub && cur.State != Zombie {
		reaper = cur
	}
	s.setParentLocked(p, nil)
	if g := s.reparentLocked(p, k.stub(), reaper, eff); g != 0 {
		s.checkOrphanedLocked(g, eff)
	}
}

// linkChildrenLocked links p, just placed, to its children as its
// previous node listed them, in that order; children here that p's stub
// had and the record does not list follow (a ChildForked on its way), but
// zombies among them were reaped at the previous node and are reaped now.
func (s *Space) linkChildrenLocked(p *proc, kids []ChildRecord, eff *Effects) {
	had := slices.Clone(p.children)
	var order []int
	for _, ck := range kids {
		c := s.procs[ck.PID]
		switch {
		case c == nil && ck.Home == s.node:
			continue // reaped here since: nothing to link
		case c == nil:
			c = ck.stub()
			s.insertLocked(c)
			s.takeChildLocked(c, ck)
		case c.Stub:
			s.refreshLocked(c, ck.Kin)
			s.takeChildLocked(c, ck)
		case c.PPID != p.PID:
			continue // not p's any more: it cannot be, but do not steal it
		default:
			// A record here is the truth about its state; what p's wait has
			// seen of it is the record's. An event about it still on its
			// way (forwarded here) brings the rest.
			c.stopPending = ck.StopPending && c.State == Stopped
			c.contPending = ck.ContPending && c.State == Running
		}
		s.setParentLocked(c, p)
		order = append(order, c.PID)
	}
	for _, cpid := range had {
		c := s.procs[cpid]
		switch {
		case slices.Contains(order, cpid):
		case !c.Stub && c.State == Zombie:
			s.reapLocked(c, eff)
		default:
			order = append(order, cpid)
		}
	}
	p.children = order
	// A stub here may still name p as its parent from an older view (a
	// child p reaped or handed on, while the event dropping the stub is
	// on its way): that link is not p's.
	for _, c := range s.procs {
		if c.Stub && c.PPID == p.PID && !slices.Contains(order, c.PID) {
			c.PPID = 0
		}
	}
}

// takeChildLocked sets stub c, a child of an imported process, to what
// wait reports about it.
func (s *Space) takeChildLocked(c *proc, ck ChildRecord) {
	c.State, c.StopSignal, c.ExitSignal = ck.State, ck.StopSignal, ck.ExitSignal
	c.Status, c.Usage, c.ChildUsage = ck.Status, ck.Usage, ck.ChildUsage
	c.stopPending, c.contPending = ck.StopPending, ck.ContPending
	c.parentExecID = ck.ParentExecID
}

// forward returns ev re-addressed to the node the record it names went to
// (Export), if that record has no live record here but at most a stub.
// By kind, ev.PID is:
//   - ChildForked: the parent. Under Home == Node a process forks where
//     its record is, so no ChildForked is sent any more (ForkFrom is for a
//     process running away from its record); one still on its way after
//     a move is right at the parent's new node.
//   - ChildExited, ChildStopped, ChildContinued: the parent. The child's
//     node had not heard of the move: the parent's new node has the
//     child's stub (from the Record) and notifies it there. A child homed
//     at that node itself comes back to its own record: see
//     childStubLocked.
//   - ChildReaped: the zombie. It cannot name a moved process: only a live
//     process moves, and the ChildExited that made it a zombie at its
//     parent's home carried its new home, which the reap answers to. Sent
//     on all the same, should a node keep an old view.
//   - ParentExited: the child, which moved; the parent's home had not
//     heard. The new node has a stub of the parent (from the Record).
//
// KinChanged names the process that changed, not a record here: it is
// sent on for the moved records it was meant for (remoteKinChanged).
func (s *Space) forward(ev PeerEvent) (PeerEvent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.procs[ev.PID]; p != nil && !p.Stub {
		return ev, false
	}
	m, ok := s.moved[ev.PID]
	if !ok {
		return ev, false
	}
	ev.To = m.to
	return ev, true
}

// returnedChildLocked returns the record of child if both it and its
// parent are homed here: an event the child's exit, stop or continue sent
// to its parent's previous node came back here with the parent (Import,
// forward). The record here changed already; only the parent's
// notification is left to do. nil for every other event.
func (s *Space) returnedChildLocked(child Kin) *proc {
	c := s.procs[child.PID]
	if c == nil || c.Stub {
		return nil
	}
	if p := s.procs[c.PPID]; p == nil || p.Stub {
		return nil
	}
	return c
}

// returnedJobLocked notifies c's parent of a stop (state Stopped) or a
// continue (Running) of c that came back (returnedChildLocked), if c is
// still in that state; else a later event, or none, tells the rest.
func (s *Space) returnedJobLocked(c *proc, state State, sig int, eff *Effects) {
	if c.State != state {
		return
	}
	code := CLD_STOPPED
	c.stopPending, c.contPending = true, false
	if state == Running {
		code = CLD_CONTINUED
		c.stopPending, c.contPending = false, true
	}
	s.notifyJobLocked(c, code, sig, eff)
}
