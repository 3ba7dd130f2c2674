package pidspace

import (
	"errors"
	"maps"
	"slices"
)

// ErrElsewhere is returned when an operation would change a record homed
// on another node (a stub here): the caller forwards it to that home.
var ErrElsewhere = errors.New("pidspace: record is homed on another node")

// Kin is what one node tells another about a process homed there: enough
// to keep a stub of it (see Process.Stub) and to decide locally about
// links, groups, permissions and wait. Peers return it for group and
// kill(-1) queries; Space.Kin builds it for a local record.
type Kin struct {
	PID, PPID, PGID, SID int
	Home, Node           string
	Creds                Creds
	State                State
	StopSignal           int
	ExitSignal           int
	// Inherited by a child forked from this process (ForkFrom).
	Comm, Args string
	Sigchld    SigchldAction
	// Gen orders the views of one record: it grows with every move and
	// every KinChanged. Views from different nodes may cross on the wire
	// (a KinChanged from the old home, forwarded, and one from the new);
	// a stub never takes a view older than the one it has.
	Gen uint64
	// At and Seen are set in answers to Peers.Group and Peers.All: the
	// answering node, and its count of forks when it answered
	// (GroupSend).
	At   string `json:",omitempty"`
	Seen uint64 `json:",omitempty"`
}

func (p *proc) kin() Kin {
	return Kin{
		PID: p.PID, PPID: p.PPID, PGID: p.PGID, SID: p.SID,
		Home: p.Home, Node: p.Node, Creds: p.Creds,
		State: p.State, StopSignal: p.StopSignal, ExitSignal: p.ExitSignal,
		Comm: p.Comm, Args: p.Args, Sigchld: p.Sigchld, Gen: p.gen,
	}
}

// stub is a new stub record of k. A parent that is herd-init is its
// home's, not this node's: the stub shows none, so that it is never taken
// for a child of this node's herd-init.
func (k Kin) stub() *proc {
	if k.PPID == InitPID {
		k.PPID = 0
	}
	return &proc{Process: Process{
		PID: k.PID, PPID: k.PPID, PGID: k.PGID, SID: k.SID,
		Home: k.Home, Node: k.Node, Creds: k.Creds, Stub: true,
		State: k.State, StopSignal: k.StopSignal, ExitSignal: k.ExitSignal,
		Comm: k.Comm, Args: k.Args, Sigchld: k.Sigchld,
	}, gen: k.Gen}
}

// GroupView is one node's answer about a process group: its members homed
// there, and whether one of them links the group to its session.
type GroupView struct {
	// Members are the group's records homed on the answering nodes,
	// zombies included, Virtual records and herd-init left out.
	Members []Kin
	// Linked is true if a live member has a parent, not herd-init, in
	// another group of the same session: the group is then not orphaned.
	Linked bool
}

// Peers is the rest of the cluster as a Space sees it; the node implements
// it over RPC, each peer answering from its own Space (LocalGroup,
// LocalAll). With no Peers (nil, the default) a Space decides from its
// own records alone, exactly as on a single node.
//
// Contract: a Space calls Peers only with its lock released, so a Peers
// method may block (network round trips) and may call back into this
// Space. A Space method that consults Peers (SignalTargets for pid <= 0,
// OrphanedPgrp, Exit, ParentExited) may therefore block while Peers does:
// with Peers set, call those methods off the sentry's tracer thread. A
// peer that cannot be reached is left out (its answer is the zero
// value); an error never fails the caller's operation.
type Peers interface {
	// Group returns what the other nodes (not this one) know of group
	// pgid, merged: every member homed there, and Linked if any of them
	// links the group.
	Group(pgid int) GroupView
	// All returns every record homed on the other nodes, for kill(-1).
	All() []Kin
}

// SetPeers sets the cluster the Space consults for groups, orphans and
// kill(-1). Call it once, before the Space is shared.
func (s *Space) SetPeers(p Peers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers = p
}

func (s *Space) getPeers() Peers {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers
}

// Kin returns what a peer needs to know of pid, a record homed here.
func (s *Space) Kin(pid int) (Kin, error) {
	return read(s, pid, (*proc).kin)
}

// LocalGroup is this node's answer to Peers.Group: the members of pgid
// homed here and whether one of them links the group.
func (s *Space) LocalGroup(pgid int) GroupView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v GroupView
	for _, pid := range s.groupPIDsLocked(pgid) {
		if m := s.procs[pid]; s.answersForLocked(m) && !m.Virtual {
			v.Members = append(v.Members, s.listedLocked(m))
		}
	}
	v.Linked = !s.orphanedLocked(pgid)
	return v
}

// answersForLocked reports whether this Space answers the peers' group
// and kill(-1) questions for m: a record homed here, or the stub of one
// that left for another node (Export) whose arrival there this Space has
// not heard of (the node it went to may answer for it too: the asker
// merges by PID). Without it a group signal sent while a member moves
// would miss it.
func (s *Space) answersForLocked(m *proc) bool {
	return !m.Stub || m.transit && m.State != Zombie
}

// listedLocked is m's Kin as a group send lists it now.
func (s *Space) listedLocked(m *proc) Kin {
	k := m.kin()
	k.At, k.Seen = s.node, s.forks
	return k
}

// LocalAll is this node's answer to Peers.All: every record homed here
// but herd-init and Virtual records, by PID.
func (s *Space) LocalAll() []Kin {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Kin
	for _, pid := range slices.Sorted(maps.Keys(s.procs)) {
		if m := s.procs[pid]; pid != InitPID && s.answersForLocked(m) && !m.Virtual {
			out = append(out, s.listedLocked(m))
		}
	}
	return out
}

// stubLocked returns the record of k.PID, adding a stub of k if there is
// none; an existing stub is refreshed from k.
func (s *Space) stubLocked(k Kin) *proc {
	if p := s.procs[k.PID]; p != nil {
		if p.Stub {
			s.refreshLocked(p, k)
		}
		return p
	}
	p := k.stub()
	s.insertLocked(p)
	return p
}

// refreshLocked updates stub p from its home's view k, unless k is older
// than the view p has (Kin.Gen). The home changes when the record moves.
func (s *Space) refreshLocked(p *proc, k Kin) {
	if k.Gen < p.gen {
		return
	}
	p.gen, p.transit = k.Gen, false
	if p.PGID != k.PGID || p.SID != k.SID {
		s.joinLocked(p, k.PGID, k.SID)
	}
	p.Home, p.Node, p.Creds = k.Home, k.Node, k.Creds
	p.Comm, p.Args, p.Sigchld = k.Comm, k.Args, k.Sigchld
}

// dropStubLocked removes stub p once it links nothing: it is no local
// record's parent and its parent is not a local record.
func (s *Space) dropStubLocked(p *proc) {
	if p == nil || !p.Stub || len(p.children) > 0 {
		return
	}
	if parent := s.procs[p.PPID]; parent != nil && !parent.Stub && slices.Contains(parent.children, p.PID) {
		return
	}
	s.removeLocked(p)
}
