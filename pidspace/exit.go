package pidspace

import (
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Effects are what a state change asks of the caller, who carries them out
// in field order (the kernel's order in exit_notify): notifications, death
// signals, orphaned groups; then retries the blocked waits of Retry; then
// sends Remote to the peers. Nothing in the Space waits for them to happen.
//
// Where to deliver: every signal goes to its Target's Node, the node where
// the process runs (its sentry holds the task), which may differ from its
// Home; a Target whose Node is another node is routed there. Waiters are
// parked where the waiting process runs, so RetryAt says, for each PID of
// Retry, the node that must retry it. Remote events go to PeerEvent.To,
// a home.
type Effects struct {
	// Notify lists the signals to send to parents about their children,
	// each with the exact siginfo. Empty when the parent asked for none
	// (SIG_IGN, SA_NOCLDSTOP, an exit signal of 0).
	Notify []Notification
	// Reparented lists the children of an exited process and their new
	// parent: the nearest live subreaper ancestor, else InitPID.
	Reparented []Reparenting
	// DeathSignals lists parent-death signals (PR_SET_PDEATHSIG) for live
	// children of an exited process.
	DeathSignals []DeathSignal
	// OrphanedGroups lists process groups that became orphaned while
	// holding a stopped member. POSIX: send SIGHUP, then SIGCONT, to every
	// member (from the kernel, si_code SI_KERNEL).
	OrphanedGroups []OrphanedGroup
	// Reaped lists records removed without a wait: the exited process if
	// its parent auto-reaps (SIGCHLD ignored or SA_NOCLDWAIT, or the parent
	// is herd-init), and zombie children reparented to such a parent. Their
	// PIDs are freed when their kernel tasks are gone too (KernelGone).
	Reaped []int
	// Retry lists processes whose blocked waits must be retried: some child
	// changed state or vanished, and Wait may now report it or ECHILD.
	// A retry that finds nothing is harmless: Wait says ErrWouldBlock again.
	Retry []int
	// RetryAt is Retry with each process's node: RetryAt[i].PID is
	// Retry[i], and the retry is done at RetryAt[i].Node.
	RetryAt []Target
	// Remote lists what other nodes' Spaces must be told, because a
	// record homed there is kin of one that changed here: deliver each to
	// its To with Space.Apply there, in order, after the local effects.
	Remote []PeerEvent

	checks []orphanCheck // groups whose orphaning the peers must confirm
}

// Notification is a signal to a parent about a child (do_notify_parent).
type Notification struct {
	Parent Target
	Signal int // SIGCHLD, or the child's exit signal for a clone child
	Info   ChildInfo
}

// ChildInfo is the siginfo of a child notification: si_pid, si_uid (the
// child's real uid), si_code (CLD_*), si_status (exit code or signal),
// si_utime and si_stime (convert to clock ticks when writing siginfo).
// Times are the child's own, as last reported: zero for a stop or continue
// since the Space learns usage only at exit; fill them if known.
type ChildInfo struct {
	PID          int
	UID          uint32
	Code         int
	Status       int
	Utime, Stime time.Duration
}

// Reparenting records that PID's parent changed to Parent.
type Reparenting struct {
	PID    int
	Parent Target
}

// DeathSignal is a parent-death signal to deliver to Target. The kernel
// sends it as SI_USER from the dying parent: si_pid is Sender.
type DeathSignal struct {
	Target Target
	Signal int
	Sender int
}

// OrphanedGroup is a newly orphaned process group with stopped members;
// Members are its live members.
type OrphanedGroup struct {
	PGID    int
	Members []Target
}

func (e *Effects) retry(p *proc) {
	if !slices.Contains(e.Retry, p.PID) {
		e.Retry = append(e.Retry, p.PID)
		e.RetryAt = append(e.RetryAt, p.target())
	}
}

// Exit records that pid's thread group has exited with status (an exited
// or killed WaitStatus) and its own resource usage, as Linux's exit_notify:
//
//   - children are reparented to the nearest live subreaper ancestor,
//     else InitPID, and their exit signal becomes SIGCHLD; live ones with a
//     parent-death signal get it; zombies among them are reported to the
//     new parent (and reaped at once by herd-init);
//   - process groups this exit orphans and that hold a stopped member are
//     listed for SIGHUP+SIGCONT;
//   - the parent is notified with the exit signal and siginfo, unless it
//     ignores SIGCHLD; if it ignores SIGCHLD or set SA_NOCLDWAIT (and the
//     exit signal is SIGCHLD) the record is reaped at once, no zombie stays
//     (SA_NOCLDWAIT with a handler still gets the signal); either way the
//     parent's waiters are in Retry, so a wait left with no child returns
//     ECHILD.
//
// Errors: ESRCH if pid has no record or already exited; EINVAL for InitPID,
// whose exit is the node's death and not a process event.
func (s *Space) Exit(pid int, status WaitStatus, usage Rusage) (Effects, error) {
	eff, err := s.exit(pid, status, usage)
	if err != nil {
		return Effects{}, err
	}
	s.resolveOrphans(&eff)
	return eff, nil
}

func (s *Space) exit(pid int, status WaitStatus, usage Rusage) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	if pid == InitPID {
		return Effects{}, fmt.Errorf("exit of %d: %w", pid, syscall.EINVAL)
	}
	p, err := s.liveLocked(pid)
	if err != nil {
		return Effects{}, fmt.Errorf("exit of %d: %w", pid, err)
	}
	var eff Effects
	// Becoming a zombie first takes p out of the orphan checks below, as
	// the kernel's exit_state does.
	p.State = Zombie
	p.Status = status
	p.Usage = usage
	p.StopSignal = 0
	p.stopPending, p.contPending = false, false

	reaper := s.findReaperLocked(p)
	kids := p.children
	p.children = nil
	var groups []int
	for _, cpid := range kids {
		c := s.procs[cpid]
		var g int
		if c.Stub {
			g = s.handOffLocked(c, p, reaper, &eff)
		} else {
			g = s.reparentLocked(c, p, reaper, &eff)
		}
		if g != 0 && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	// p was the link to the outside for its children's groups...
	for _, g := range groups {
		s.checkOrphanedLocked(g, &eff)
	}
	// ...and for its own group, through its parent.
	if parent := s.procs[p.PPID]; parent != nil && parent.PGID != p.PGID && parent.SID == p.SID {
		s.checkOrphanedLocked(p.PGID, &eff)
	}
	s.notifyExitLocked(p, &eff)
	return eff, nil
}

// handOffLocked gives c, the stub of a child homed elsewhere of the exited
// parent old, to reaper: the child's home is told (ParentExited) and does
// the rest there, as reparentLocked. A reaper that is herd-init is the
// child's own node's herd-init, so the stub goes. A zombie handed to a
// reaper homed here is notified here, not by the child's home. It returns
// the group to check for orphaning, or 0.
func (s *Space) handOffLocked(c, old, reaper *proc, eff *Effects) int {
	ev := PeerEvent{To: c.Home, Kind: ParentExited, PID: c.PID, OldParent: old.PID}
	c.ExitSignal = int(syscall.SIGCHLD)
	c.PPID = 0
	if reaper != nil && reaper.PID != InitPID {
		ev.Kin = reaper.kin()
		c.PPID = reaper.PID
		reaper.children = append(reaper.children, c.PID)
		eff.retry(reaper)
		if c.State == Zombie {
			s.notifyExitLocked(c, eff)
		}
	} else {
		s.dropStubLocked(c)
	}
	eff.Remote = append(eff.Remote, ev)
	if c.PGID != old.PGID && c.SID == old.SID {
		return c.PGID
	}
	return 0
}

// findReaperLocked returns the nearest live subreaper ancestor of p, else
// init (nil if there is none), as find_new_reaper.
func (s *Space) findReaperLocked(p *proc) *proc {
	a := s.procs[p.PPID]
	for range len(s.procs) { // bounded: the tree has no cycles, but be sure
		// The walk ends at an ancestor homed elsewhere: its subreaper flag
		// and its own ancestors are its home's.
		if a == nil || a.PID == InitPID || a.Stub {
			break
		}
		if a.Subreaper && a.State != Zombie {
			return a
		}
		a = s.procs[a.PPID]
	}
	return s.procs[InitPID]
}

// notifyExitLocked is the kernel's do_notify_parent for a zombie c. A
// parent homed elsewhere is told with ChildExited, and decides there.
func (s *Space) notifyExitLocked(c *proc, eff *Effects) {
	parent := s.procs[c.PPID]
	if parent == nil {
		// Nobody can ever wait for it.
		s.reapLocked(c, eff)
		return
	}
	if parent.Stub {
		eff.Remote = append(eff.Remote, PeerEvent{
			To: parent.Home, Kind: ChildExited, PID: parent.PID, Kin: c.kin(),
			Status: c.Status, Usage: c.Usage, ChildUsage: c.ChildUsage,
		})
		return
	}
	sig := c.ExitSignal
	if sig != int(syscall.SIGCHLD) && c.parentExecID != parent.execID {
		// The parent exec'd since: it may not expect an odd signal.
		sig = int(syscall.SIGCHLD)
	}
	autoreap := false
	switch {
	case parent.PID == InitPID:
		// herd-init reaps whatever it is given, whatever it is told.
		autoreap, sig = true, 0
	case sig == int(syscall.SIGCHLD) && (parent.Sigchld.Ignored || parent.Sigchld.NoCldWait):
		autoreap = true
		if parent.Sigchld.Ignored {
			sig = 0
		}
	}
	if sig != 0 {
		code, status := exitCode(c.Status)
		eff.Notify = append(eff.Notify, Notification{
			Parent: parent.target(),
			Signal: sig,
			Info: ChildInfo{
				PID: c.PID, UID: c.Creds.RUID, Code: code, Status: status,
				Utime: c.Usage.Utime, Stime: c.Usage.Stime,
			},
		})
	}
	eff.retry(parent)
	if autoreap {
		s.reapLocked(c, eff)
	}
}

// reapLocked removes zombie c without a wait: listed in Reaped, or for a
// stub, told to its home with ChildReaped.
func (s *Space) reapLocked(c *proc, eff *Effects) {
	s.removeLocked(c)
	if c.Stub {
		if !c.lost {
			eff.Remote = append(eff.Remote, PeerEvent{To: c.Home, Kind: ChildReaped, PID: c.PID})
		}
		return
	}
	eff.Reaped = append(eff.Reaped, c.PID)
}

// checkOrphanedLocked lists group pgid in eff if it is orphaned and holds a
// stopped member (the kernel's kill_orphaned_pgrp).
func (s *Space) checkOrphanedLocked(pgid int, eff *Effects) {
	if slices.ContainsFunc(eff.OrphanedGroups, func(g OrphanedGroup) bool { return g.PGID == pgid }) {
		return
	}
	if !s.orphanedLocked(pgid) {
		return
	}
	stopped := false
	var members []Target
	for _, pid := range s.groupPIDsLocked(pgid) {
		m := s.procs[pid]
		if m.State == Zombie || m.Virtual || m.Stub {
			continue
		}
		stopped = stopped || m.State == Stopped
		members = append(members, m.target())
	}
	if s.peers != nil {
		if !slices.ContainsFunc(eff.checks, func(c orphanCheck) bool { return c.pgid == pgid }) {
			eff.checks = append(eff.checks, orphanCheck{pgid: pgid, members: members, stopped: stopped})
		}
		return
	}
	if stopped {
		eff.OrphanedGroups = append(eff.OrphanedGroups, OrphanedGroup{PGID: pgid, Members: members})
	}
}

// orphanCheck is a group orphaned as far as this node's records go, with
// its live members here; the peers have the last word (resolveOrphans).
type orphanCheck struct {
	pgid    int
	members []Target
	stopped bool
}

// resolveOrphans completes the orphan checks of eff with the peers' view,
// with the lock released: a group is orphaned if no node links it, and
// listed if a member anywhere is stopped, with its live members anywhere.
func (s *Space) resolveOrphans(eff *Effects) {
	checks := eff.checks
	eff.checks = nil
	if len(checks) == 0 {
		return
	}
	peers := s.getPeers()
	for _, c := range checks {
		v := peers.Group(c.pgid)
		if v.Linked {
			continue
		}
		for _, k := range v.Members {
			if k.State == Zombie {
				continue
			}
			c.stopped = c.stopped || k.State == Stopped
			c.members = append(c.members, Target{PID: k.PID, Node: k.Node, Home: k.Home})
		}
		if c.stopped {
			eff.OrphanedGroups = append(eff.OrphanedGroups, OrphanedGroup{PGID: c.pgid, Members: c.members})
		}
	}
}

// orphanedLocked is POSIX's orphaned process group test, as the kernel's
// will_become_orphaned_pgrp: no live member has a parent in another group
// of the same session. A parent that is herd-init is no link, and an
// empty group is orphaned.
func (s *Space) orphanedLocked(pgid int) bool {
	for _, m := range s.groups[pgid] {
		// Members homed elsewhere answer for themselves (Peers.Group).
		if m.State == Zombie || m.PPID == InitPID || m.Stub {
			continue
		}
		// A zombie parent is no link: a parent homed elsewhere that exited
		// is one until its home's ParentExited for m arrives.
		parent := s.procs[m.PPID]
		if parent != nil && parent.State != Zombie && parent.PGID != pgid && parent.SID == m.SID {
			return false
		}
	}
	return true
}

// groupPIDsLocked returns the members of pgid in PID order.
func (s *Space) groupPIDsLocked(pgid int) []int {
	out := make([]int, 0, len(s.groups[pgid]))
	for pid := range s.groups[pgid] {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

// OrphanedPgrp reports whether process group pgid is orphaned (POSIX). The
// sentry needs it for job control: the kernel discards SIGTSTP, SIGTTIN
// and SIGTTOU sent to an orphaned group's members, and a background read
// from the terminal there fails with EIO instead of stopping.
//
// With Peers set, a group orphaned here is asked about on the other nodes
// too, and the call may block while they answer.
func (s *Space) OrphanedPgrp(pgid int) bool {
	s.mu.Lock()
	orphaned, peers := s.orphanedLocked(pgid), s.peers
	s.mu.Unlock()
	if !orphaned || peers == nil {
		return orphaned
	}
	return !peers.Group(pgid).Linked
}

// Stopped records that pid stopped by signal sig (a group stop). The stop
// becomes reportable once to WUNTRACED waiters; the parent gets SIGCHLD
// with CLD_STOPPED unless it ignores SIGCHLD or set SA_NOCLDSTOP, and its
// waiters are retried either way. A process already stopped yields no
// effects. Errors: ESRCH if pid is missing or a zombie, EINVAL for a
// signal outside 1..64.
func (s *Space) Stopped(pid, sig int) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	p, err := s.liveLocked(pid)
	if err != nil {
		return Effects{}, fmt.Errorf("stop of %d: %w", pid, err)
	}
	if sig <= 0 || !validSignal(sig) {
		return Effects{}, fmt.Errorf("stop of %d: %w", pid, syscall.EINVAL)
	}
	var eff Effects
	if p.State == Stopped {
		return eff, nil
	}
	p.State = Stopped
	p.StopSignal = sig
	p.stopPending, p.contPending = true, false
	s.notifyJobLocked(p, CLD_STOPPED, sig, &eff)
	return eff, nil
}

// Continued records that stopped pid was resumed by SIGCONT. The continue
// becomes reportable once to WCONTINUED waiters and replaces an unreported
// stop; the parent gets SIGCHLD with CLD_CONTINUED unless it ignores
// SIGCHLD or set SA_NOCLDSTOP, and its waiters are retried. A process that
// was not stopped yields no effects (SIGCONT to a running process is not an
// event). ESRCH if pid is missing or a zombie.
func (s *Space) Continued(pid int) (Effects, error) {
	s.mu.Lock()
	defer s.unlock()
	p, err := s.liveLocked(pid)
	if err != nil {
		return Effects{}, fmt.Errorf("continue of %d: %w", pid, err)
	}
	var eff Effects
	if p.State != Stopped {
		return eff, nil
	}
	p.State = Running
	p.StopSignal = 0
	p.stopPending, p.contPending = false, true
	s.notifyJobLocked(p, CLD_CONTINUED, int(syscall.SIGCONT), &eff)
	return eff, nil
}

// notifyJobLocked is the kernel's do_notify_parent_cldstop: always SIGCHLD,
// whatever the exit signal.
func (s *Space) notifyJobLocked(p *proc, code, status int, eff *Effects) {
	parent := s.procs[p.PPID]
	if parent == nil {
		return
	}
	if parent.Stub {
		kind := ChildStopped
		if code == CLD_CONTINUED {
			kind = ChildContinued
		}
		eff.Remote = append(eff.Remote, PeerEvent{To: parent.Home, Kind: kind, PID: parent.PID, Kin: p.kin(), Signal: status})
		return
	}
	if !parent.Sigchld.Ignored && !parent.Sigchld.NoCldStop {
		eff.Notify = append(eff.Notify, Notification{
			Parent: parent.target(),
			Signal: int(syscall.SIGCHLD),
			Info:   ChildInfo{PID: p.PID, UID: p.Creds.RUID, Code: code, Status: status},
		})
	}
	eff.retry(parent)
}
