package pidspace

import (
	"fmt"
	"slices"
	"syscall"
)

// EventKind says what a PeerEvent tells its destination.
type EventKind int

const (
	// ChildForked: PID, homed at To, has a new child Kin homed at the
	// sender (ForkFrom). To adds a child stub. Records that move with their
	// processes leave no process running away from its record, so no node
	// sends it; it is kept for ForkFrom.
	ChildForked EventKind = iota + 1
	// ChildExited: Kin, a child of PID, exited with Status; Usage and
	// ChildUsage are its own and its reaped children's. To notifies the
	// parent and may reap at once (then it answers ChildReaped).
	ChildExited
	// ChildStopped: Kin, a child of PID, stopped by Signal.
	ChildStopped
	// ChildContinued: Kin, a child of PID, was continued.
	ChildContinued
	// ChildReaped: PID, a zombie homed at To, was reaped by its parent
	// homed at the sender. To removes the record.
	ChildReaped
	// ParentExited: OldParent, the parent of PID (homed at To), exited.
	// Kin is the new parent, or has PID 0 for To's own herd-init.
	ParentExited
	// KinChanged: Kin, homed at the sender and a stub at To, changed
	// group, session, credentials, command, or home and node (it moved
	// there: Import).
	KinChanged
	// Moved: Record, the record of PID exported by the sender (Export),
	// is To's now: To imports it (Import). It travels in the sender's
	// ordered stream of events to To, so anything the sender says of PID
	// afterwards reaches To after the record.
	Moved
)

var eventNames = [...]string{"", "child-forked", "child-exited", "child-stopped", "child-continued", "child-reaped", "parent-exited", "kin-changed", "moved"}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// PeerEvent is what a Space asks to be told to the Space of another node:
// the caller sends it to node To, whose Space applies it with Apply. Events to one node must be applied in
// the order they were returned. Every field is plain data, ready for the
// wire.
type PeerEvent struct {
	To         string
	Kind       EventKind
	PID        int // the record at To the event is about
	Kin        Kin // the other process of the event, as its home sees it
	Status     WaitStatus
	Usage      Rusage
	ChildUsage Rusage
	Signal     int
	OldParent  int
	// Record is the moved record of a Moved event.
	Record *Record `json:",omitempty"`
}

// Apply applies an event a peer sent, by its kind. ESRCH if the record
// it names is not (or no longer) here, EINVAL for an unknown kind.
//
// An event about a process whose record left (Export) and that has none
// here but a stub comes back re-addressed to the node it went to, in
// Effects.Remote, for the node to send on (see forwardLocked).
func (s *Space) Apply(ev PeerEvent) (Effects, error) {
	switch ev.Kind {
	case KinChanged:
		return Effects{Remote: s.remoteKinChanged(ev)}, nil
	case Moved:
		// Never forwarded: a record that once left this node may come
		// back.
		if ev.Record == nil || ev.Record.Process.PID != ev.PID {
			return Effects{}, fmt.Errorf("apply %v of %d: %w", ev.Kind, ev.PID, syscall.EINVAL)
		}
		return s.Import(*ev.Record)
	}
	if fwd, ok := s.forward(ev); ok {
		return Effects{Remote: []PeerEvent{fwd}}, nil
	}
	switch ev.Kind {
	case ChildForked:
		return Effects{}, s.remoteChildForked(ev.PID, ev.Kin)
	case ChildExited:
		return s.remoteChildExited(ev.Kin, ev.Status, ev.Usage, ev.ChildUsage)
	case ChildStopped:
		return s.remoteJob(ev.Kin, Stopped, ev.Signal)
	case ChildContinued:
		return s.remoteJob(ev.Kin, Running, int(syscall.SIGCONT))
	case ChildReaped:
		return s.remoteChildReaped(ev.PID)
	case ParentExited:
		return s.remoteParentExited(ev.PID, ev.OldParent, ev.Kin)
	}
	return Effects{}, fmt.Errorf("apply %v: %w", ev.Kind, syscall.EINVAL)
}

// ForkFrom records a fork here by a parent homed elsewhere (a process
// running away from its record forking on this node; the child's PID
// comes from this node's blocks, so the child is homed here). A process
// whose record moved with it (Import) forks with Fork instead. parent is the parent as its home
// reports it (Space.Kin there); the child inherits from it as Fork
// describes and runs on parent.Node. The parent is kept as a stub; the
// returned Effects hold the ChildForked event for its home. Errors as
// Fork's.
func (s *Space) ForkFrom(parent Kin, child, exitSignal int) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	if parent.Home == s.node || parent.PID <= InitPID || parent.State == Zombie {
		return Effects{}, fmt.Errorf("fork %d from remote %d: %w", child, parent.PID, syscall.ESRCH)
	}
	if child <= InitPID || !validSignal(exitSignal) {
		return Effects{}, fmt.Errorf("fork %d from %d: %w", child, parent.PID, syscall.EINVAL)
	}
	if s.procs[child] != nil {
		return Effects{}, fmt.Errorf("fork %d from %d: %w", child, parent.PID, syscall.EEXIST)
	}
	p := s.stubLocked(parent)
	if !p.Stub {
		return Effects{}, fmt.Errorf("fork %d from remote %d: homed here: %w", child, parent.PID, syscall.EEXIST)
	}
	c := &proc{Process: Process{
		PID: child, PPID: p.PID, PGID: p.PGID, SID: p.SID,
		Creds: p.Creds, Node: p.Node, Comm: p.Comm, Args: p.Args,
		ExitSignal: exitSignal, Sigchld: p.Sigchld,
		StartTime: s.now(),
	}}
	s.insertLocked(c)
	var eff Effects
	eff.Remote = append(eff.Remote, PeerEvent{To: p.Home, Kind: ChildForked, PID: p.PID, Kin: c.kin()})
	return eff, nil
}

// remoteChildForked applies ChildForked: parent, homed here, has a new
// child homed elsewhere, kept as a stub in its children.
func (s *Space) remoteChildForked(parent int, child Kin) error {
	s.mu.Lock()
	defer s.unlock()
	p, err := s.liveLocked(parent)
	if err != nil {
		return fmt.Errorf("remote fork %d from %d: %w", child.PID, parent, err)
	}
	if s.procs[child.PID] != nil || child.Home == s.node {
		return fmt.Errorf("remote fork %d from %d: %w", child.PID, parent, syscall.EEXIST)
	}
	c := child.stub()
	c.PPID, c.parentExecID = parent, p.execID
	s.insertLocked(c)
	return nil
}

// childStubLocked returns the live stub of child, a child of a process
// homed here, refreshed from child; what names the event in the error.
// The stub's parent now is the one that counts: the parent named by the
// event may have exited and handed the stub to a subreaper here while the
// event was on its way.
func (s *Space) childStubLocked(child Kin, what string) (*proc, error) {
	c := s.procs[child.PID]
	if c == nil || !c.Stub || c.State == Zombie {
		return nil, fmt.Errorf("remote %s of %d: %w", what, child.PID, syscall.ESRCH)
	}
	if p := s.procs[c.PPID]; p == nil || p.Stub {
		return nil, fmt.Errorf("remote %s of %d: no parent here: %w", what, child.PID, syscall.ESRCH)
	}
	s.refreshLocked(c, child)
	return c, nil
}

// remoteChildExited applies ChildExited: the stub becomes a zombie and its
// current parent here (not necessarily ev.PID, the parent the sender knew)
// is notified as Exit notifies it (Notify, Retry, auto-reaping; a reaped
// stub yields ChildReaped for the child's home in Remote).
//
// Events can cross: an ESRCH from Apply means the record it names has
// moved on (it was reaped, or handed to another node's herd-init); the
// node logs and drops the event.
func (s *Space) remoteChildExited(child Kin, status WaitStatus, usage, childUsage Rusage) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	var eff Effects
	if c := s.returnedChildLocked(child); c != nil {
		if c.State != Zombie {
			return Effects{}, fmt.Errorf("remote exit of %d: alive here: %w", child.PID, syscall.ESRCH)
		}
		s.notifyExitLocked(c, &eff)
		return eff, nil
	}
	c, err := s.childStubLocked(child, "exit")
	if err != nil {
		return Effects{}, err
	}
	c.State, c.Status, c.StopSignal = Zombie, status, 0
	c.Usage, c.ChildUsage = usage, childUsage
	c.stopPending, c.contPending = false, false
	s.notifyExitLocked(c, &eff)
	return eff, nil
}

// remoteJob applies ChildStopped (state Stopped) and ChildContinued (state
// Running) as Stopped and Continued do for a local child.
func (s *Space) remoteJob(child Kin, state State, sig int) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	var eff Effects
	if c := s.returnedChildLocked(child); c != nil {
		s.returnedJobLocked(c, state, sig, &eff)
		return eff, nil
	}
	c, err := s.childStubLocked(child, "stop or continue")
	if err != nil {
		return Effects{}, err
	}
	if c.State == state {
		return eff, nil
	}
	c.State = state
	if state == Stopped {
		c.StopSignal, c.stopPending, c.contPending = sig, true, false
		s.notifyJobLocked(c, CLD_STOPPED, sig, &eff)
	} else {
		c.StopSignal, c.stopPending, c.contPending = 0, false, true
		s.notifyJobLocked(c, CLD_CONTINUED, sig, &eff)
	}
	return eff, nil
}

// remoteChildReaped applies ChildReaped: child, a zombie homed here whose
// parent is homed elsewhere, was waited for there. Its record goes
// (Effects.Reaped) and its usage is counted at the parent's home.
func (s *Space) remoteChildReaped(child int) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	c := s.procs[child]
	if c == nil || c.Stub || c.State != Zombie {
		return Effects{}, fmt.Errorf("remote reap of %d: %w", child, syscall.ESRCH)
	}
	parent := s.procs[c.PPID]
	if parent == nil || !parent.Stub {
		return Effects{}, fmt.Errorf("remote reap of %d: parent %d is not remote: %w", child, c.PPID, syscall.ESRCH)
	}
	var eff Effects
	s.reapLocked(c, &eff)
	s.dropStubLocked(parent)
	return eff, nil
}

// remoteParentExited applies ParentExited: child, homed here, loses its
// parent oldParent (a stub) to newParent, or to this node's herd-init if
// newParent.PID is 0, as Exit reparents a local child: exit signal reset
// to SIGCHLD, parent-death signal, orphaned-group check (consulting
// Peers: it may block then), a zombie reported to its new parent.
func (s *Space) remoteParentExited(child, oldParent int, newParent Kin) (Effects, error) {
	eff, err := s.reparentFromStub(child, oldParent, newParent)
	if err != nil {
		return Effects{}, err
	}
	s.resolveOrphans(&eff)
	return eff, nil
}

func (s *Space) reparentFromStub(child, oldParent int, newParent Kin) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	c := s.procs[child]
	old := s.procs[oldParent]
	if c == nil || c.Stub || c.PPID != oldParent || old == nil || !old.Stub {
		return Effects{}, fmt.Errorf("remote exit of parent %d of %d: %w", oldParent, child, syscall.ESRCH)
	}
	var eff Effects
	state := old.State
	old.State = Zombie // no longer a link for orphan checks
	old.children = slices.DeleteFunc(old.children, func(pid int) bool { return pid == child })
	reaper := s.procs[InitPID]
	if newParent.PID != 0 {
		reaper = s.stubLocked(newParent)
	}
	if g := s.reparentLocked(c, old, reaper, &eff); g != 0 {
		s.checkOrphanedLocked(g, &eff)
	}
	// A stub that is also the child of a record here (its record moved
	// away from its parent) stays, and its exit is yet to come.
	old.State = state
	s.dropStubLocked(old)
	return eff, nil
}

// reparentLocked moves c, a child homed here of the exited parent old, to
// reaper (nil: none), as exit_notify's forget_original_parent. It returns
// c's group if old was in another group of the same session (the group to
// check for orphaning once every child is moved), else 0.
func (s *Space) reparentLocked(c, old, reaper *proc, eff *Effects) int {
	// The kernel resets it so that no orphan signals init with anything
	// but SIGCHLD.
	c.ExitSignal = int(syscall.SIGCHLD)
	c.PPID = 0
	if reaper != nil {
		c.PPID = reaper.PID
		reaper.children = append(reaper.children, c.PID)
		eff.Reparented = append(eff.Reparented, Reparenting{PID: c.PID, Parent: reaper.target()})
		if !reaper.Stub {
			// A stopped child not yet reported becomes the reaper's to report.
			eff.retry(reaper)
		}
	}
	if c.State != Zombie && c.Pdeathsig != 0 {
		eff.DeathSignals = append(eff.DeathSignals, DeathSignal{Target: c.target(), Signal: c.Pdeathsig, Sender: old.PID})
	}
	if c.State == Zombie && (reaper == nil || !reaper.Stub) {
		// A reaper homed elsewhere was told of the zombie by the exited
		// parent's home when it handed c over.
		s.notifyExitLocked(c, eff)
	}
	if c.PGID != old.PGID && c.SID == old.SID {
		return c.PGID
	}
	return 0
}

// remoteKinChanged applies KinChanged: the stub of k.PID takes k's group,
// session, credentials, home, node and command. A PID with no stub here
// is ignored (the stub went while the event was on its way). The sender
// addressed it here for the sake of records here that are k's parent or
// child; if one of them left (Export), the event is sent on after it
// (the returned events), with PID naming it: the sender may not know yet
// where it went. A KinChanged sent on that way (PID is not Kin.PID)
// follows that one record only, from node to node until it finds it.
func (s *Space) remoteKinChanged(ev PeerEvent) []PeerEvent {
	s.mu.Lock()
	defer s.unlock()
	k := ev.Kin
	if p := s.procs[k.PID]; p != nil && p.Stub {
		s.refreshLocked(p, k)
	}
	var out []PeerEvent
	for pid, m := range s.moved {
		if ev.PID != k.PID && pid != ev.PID {
			continue
		}
		if ev.PID == k.PID && pid != k.PPID && m.parent != k.PID {
			continue
		}
		if p := s.procs[pid]; p != nil && !p.Stub {
			continue
		}
		fwd := ev
		fwd.To, fwd.PID = m.to, pid
		out = append(out, fwd)
	}
	return out
}

// KinChanged returns the KinChanged events that tell every node holding a
// stub of pid (its parent's home, its children's homes) pid's record as
// it is now. The node calls it after a successful Setpgid, Setsid,
// SetCreds, SetNode, Exec or SetSigchldAction of a process with kin homed
// elsewhere, and sends the events. Nil when there are none.
func (s *Space) KinChanged(pid int) []PeerEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil || p.Stub {
		return nil
	}
	// A newer view than any sent before (Kin.Gen).
	p.gen++
	return s.kinChangedLocked(p)
}

// kinChangedLocked returns KinChanged events with p's view for every
// other node holding a stub of p.
func (s *Space) kinChangedLocked(p *proc) []PeerEvent {
	var homes []string
	if parent := s.procs[p.PPID]; parent != nil && parent.Stub {
		homes = append(homes, parent.Home)
	}
	for _, cpid := range p.children {
		if c := s.procs[cpid]; c.Stub && !slices.Contains(homes, c.Home) {
			homes = append(homes, c.Home)
		}
	}
	var out []PeerEvent
	for _, h := range homes {
		if h != s.node {
			out = append(out, PeerEvent{To: h, Kind: KinChanged, PID: p.PID, Kin: p.kin()})
		}
	}
	return out
}
