package pidspace

import (
	"maps"
	"math"
	"slices"
	"syscall"
)

// SignalTargets resolves kill(pid, sig) sent by sender, with Linux's
// kill_something_info and check_kill_permission rules, and returns the
// processes to deliver sig to. It delivers nothing itself.
//
// pid > 0 is that process; 0 the sender's process group; -1 every process
// except InitPID, the sender and Virtual records; < -1 the group -pid.
// Virtual records (launchers) are reached only by their own PID: the
// returned Target has Virtual set and the caller decides what delivery
// means. Zombies are valid targets that receive nothing, so they are left
// out of the result: a nil slice with a nil error means "success, nothing
// to deliver". With sig 0 (the existence and permission probe) the result
// is always nil; only the error matters.
//
// A sender may signal a target if it is the target, has euid 0, or its
// real or effective uid equals the target's real or saved uid; SIGCONT
// may also go to any process of the sender's session. Errors, as the
// kernel computes them (the signal number is checked per target, after the
// lookup):
//   - ESRCH: no process matches (or pid is INT_MIN, or sender is unknown);
//   - EINVAL: sig is outside 0..64 and some process matches;
//   - EPERM: pid > 0, or a group in which no member may be signalled.
//     kill(-1) never fails with EPERM: Linux returns success when there
//     were candidates, even if none could be signalled (nothing is
//     delivered then).
//
// With Peers set, kill(0), kill(-pgid) and kill(-1) reach the records
// homed on the other nodes too (Peers.Group, Peers.All, asked before the
// lock is taken: the call may block then), with the same rules; their
// Targets carry the node each runs on.
func (s *Space) SignalTargets(sender, pid, sig int) ([]Target, error) {
	rem := s.remoteCandidates(sender, pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.procs[sender]
	if from == nil || from.Stub {
		return nil, syscall.ESRCH
	}
	switch {
	case pid > 0:
		t := s.procs[pid]
		if t == nil {
			return nil, syscall.ESRCH
		}
		if err := mayKill(from, t, sig); err != nil {
			return nil, err
		}
		return deliverTo(nil, t, sig, GroupSend{}), nil
	case pid == math.MinInt32:
		return nil, syscall.ESRCH
	case pid == -1:
		return s.killAllLocked(from, sig, rem)
	}
	pgid := -pid
	if pid == 0 {
		pgid = from.PGID
	}
	return s.killGroupLocked(from, pgid, sig, rem)
}

// deliverTo appends t to out if sig is to be delivered to it: zombies
// receive nothing and the probe (sig 0) delivers nothing.
func deliverTo(out []Target, t *proc, sig int, g GroupSend) []Target {
	if sig != 0 && t.State != Zombie {
		tg := t.target()
		tg.Group = g
		out = append(out, tg)
	}
	return out
}

// remote are the candidates of kill(0), kill(-pgid) or kill(-1) that
// the other nodes hold (Peers' answers), as stubs that are in no map,
// and the records this Space answered for as moving when it asked:
// while the peers answer, the node one of those went to may take it in
// and say so here after its own answer was given without it, so it is
// still answered for here (a signal to it follows it there).
type remote struct {
	procs  []*proc
	moving map[int]bool
}

// remoteCandidates returns the records homed elsewhere that kill(pid) by
// sender may reach: none without Peers or for pid > 0. It asks Peers
// with the lock released.
func (s *Space) remoteCandidates(sender, pid int) remote {
	if pid > 0 || pid == math.MinInt32 {
		return remote{}
	}
	s.mu.Lock()
	peers, from := s.peers, s.procs[sender]
	pgid := 0
	if from != nil {
		pgid = from.PGID
	}
	var moving map[int]bool
	if peers != nil {
		for p := range s.moved {
			if m := s.procs[p]; m != nil && m.transit {
				if moving == nil {
					moving = make(map[int]bool)
				}
				moving[p] = true
			}
		}
	}
	s.mu.Unlock()
	if peers == nil || from == nil {
		return remote{}
	}
	var kin []Kin
	switch {
	case pid == -1:
		kin = peers.All()
	case pid == 0:
		kin = peers.Group(pgid).Members
	default:
		kin = peers.Group(-pid).Members
	}
	out := remote{procs: make([]*proc, 0, len(kin)), moving: moving}
	for _, k := range kin {
		st := k.stub()
		st.listed = GroupSend{At: k.At, Seen: k.Seen}
		out.procs = append(out.procs, st)
	}
	return out
}

// candidatesLocked returns the records this Space answers for that pass
// keep (homed here, or gone on to another node that had not yet said it
// took them in when the peers were asked: a signal to those follows
// them), and the remote ones it does not answer for, ordered by PID.
func (s *Space) candidatesLocked(pids []int, rem remote, keep func(*proc) bool) []*proc {
	var out []*proc
	seen := make(map[int]bool)
	for _, pid := range pids {
		t := s.procs[pid]
		if (s.answersForLocked(t) || rem.moving[pid] && t.State != Zombie) && keep(t) {
			seen[pid] = true
			out = append(out, t)
		}
	}
	for _, t := range rem.procs {
		// A process that is moving may be answered for by two nodes.
		if own := s.procs[t.PID]; (own == nil || own.Stub) && !seen[t.PID] && keep(t) {
			seen[t.PID] = true
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *proc) int { return a.PID - b.PID })
	return out
}

// killAllLocked is kill(-1): every process but InitPID, the sender and
// Virtual records.
func (s *Space) killAllLocked(from *proc, sig int, rem remote) ([]Target, error) {
	targets := s.candidatesLocked(slices.Sorted(maps.Keys(s.procs)), rem, func(t *proc) bool {
		return t.PID > InitPID && t.PID != from.PID && !t.Virtual
	})
	if len(targets) == 0 {
		return nil, syscall.ESRCH
	}
	// Linux: the last error other than EPERM, so EPERM alone is success.
	return killEach(from, targets, sig, s.markLocked(-1), nil, func(ret, err error) error {
		if err != syscall.EPERM {
			return err
		}
		return ret
	})
}

// killGroupLocked is kill(-pgid), as __kill_pgrp_info: success once any
// member may be signalled, else the last member's error, else ESRCH for
// an empty group.
func (s *Space) killGroupLocked(from *proc, pgid, sig int, rem remote) ([]Target, error) {
	targets := s.candidatesLocked(s.groupPIDsLocked(pgid), rem, func(t *proc) bool {
		return !t.Virtual && t.PGID == pgid
	})
	return killEach(from, targets, sig, s.markLocked(pgid), syscall.ESRCH, func(ret, err error) error {
		if ret != nil {
			return err
		}
		return ret
	})
}

// markLocked is how a group send to pgid (-1: every process) marks its
// candidates: a record of this Space as listed here and now, a remote
// one as its node listed it (remoteCandidates).
func (s *Space) markLocked(pgid int) func(*proc) GroupSend {
	here := GroupSend{PGID: pgid, At: s.node, Seen: s.forks}
	return func(t *proc) GroupSend {
		if s.procs[t.PID] == t {
			return here
		}
		g := t.listed
		g.PGID = pgid
		return g
	}
}

// killEach checks sig from from against each target in order and returns
// the deliveries, each marked by mark. fold computes the call's error from the one so far
// (initially ret) and a target's; a non-nil final error discards them.
func killEach(from *proc, targets []*proc, sig int, mark func(*proc) GroupSend, ret error, fold func(ret, err error) error) ([]Target, error) {
	var out []Target
	for _, t := range targets {
		err := mayKill(from, t, sig)
		ret = fold(ret, err)
		if err == nil {
			out = deliverTo(out, t, sig, mark(t))
		}
	}
	if ret != nil {
		return nil, ret
	}
	return out, nil
}

// mayKill is the kernel's check_kill_permission for a signal from userspace.
func mayKill(from, to *proc, sig int) error {
	if !validSignal(sig) {
		return syscall.EINVAL
	}
	if from == to {
		return nil
	}
	f, t := from.Creds, to.Creds
	if f.EUID == 0 || f.EUID == t.SUID || f.EUID == t.RUID || f.RUID == t.SUID || f.RUID == t.RUID {
		return nil
	}
	if sig == int(syscall.SIGCONT) && from.SID == to.SID {
		return nil
	}
	return syscall.EPERM
}

// BornSince is what else a group signal to pid, listed by g, reaches on
// this node: pid's descendants forked here after g listed pid (or, if
// another node listed it, after pid arrived here), that are in g's group
// (any group for kill(-1)), live and not Virtual. Linux delivers a group
// signal to parent and child of a fork it crosses; herd delivers it to
// a listed member later than it listed the members, so the children the
// member forked in between get it here. Their own descendants are
// included, by the same rule; a child that has since gone on to another
// node is returned with that node. Nil for a signal to one process, and
// for a process made here that another node listed.
func (s *Space) BornSince(pid int, g GroupSend) []Target {
	if g.PGID == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil {
		return nil
	}
	seen := g.Seen
	if g.At != s.node {
		if !p.imported {
			// Made here, yet listed by another node (which answered
			// for it while it moved): that node's delivery is the one.
			return nil
		}
		seen = p.arrived
	}
	var out []Target
	var walk func(q *proc)
	walk = func(q *proc) {
		for _, c := range q.children {
			ch := s.procs[c]
			if ch == nil || ch.born <= seen {
				continue
			}
			if ch.State != Zombie && !ch.Virtual && (g.PGID < 0 || ch.PGID == g.PGID) {
				out = append(out, ch.target())
			}
			walk(ch)
		}
	}
	walk(p)
	return out
}
