package pidspace

import (
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Effects are what a state change asks of the caller, who carries them out
// in field order (the kernel's order in exit_notify): notifications, death
// signals, orphaned groups; then retries the blocked waits of Retry.
// Nothing in the Space waits for them to happen.
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

func (e *Effects) retry(pid int) {
	if !slices.Contains(e.Retry, pid) {
		e.Retry = append(e.Retry, pid)
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
		// The kernel resets it so that no orphan signals init with anything
		// but SIGCHLD.
		c.ExitSignal = int(syscall.SIGCHLD)
		c.PPID = 0
		if reaper != nil {
			c.PPID = reaper.PID
			reaper.children = append(reaper.children, c.PID)
			eff.Reparented = append(eff.Reparented, Reparenting{PID: c.PID, Parent: reaper.target()})
		}
		if c.State != Zombie && c.Pdeathsig != 0 {
			eff.DeathSignals = append(eff.DeathSignals, DeathSignal{Target: c.target(), Signal: c.Pdeathsig, Sender: p.PID})
		}
		if c.PGID != p.PGID && c.SID == p.SID && !slices.Contains(groups, c.PGID) {
			groups = append(groups, c.PGID)
		}
		if c.State == Zombie {
			s.notifyExitLocked(c, &eff)
		}
	}
	if reaper != nil && len(kids) > 0 {
		// A stopped child not yet reported becomes the reaper's to report.
		eff.retry(reaper.PID)
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

// findReaperLocked returns the nearest live subreaper ancestor of p, else
// init (nil if there is none), as find_new_reaper.
func (s *Space) findReaperLocked(p *proc) *proc {
	a := s.procs[p.PPID]
	for range len(s.procs) { // bounded: the tree has no cycles, but be sure
		if a == nil || a.PID == InitPID {
			break
		}
		if a.Subreaper && a.State != Zombie {
			return a
		}
		a = s.procs[a.PPID]
	}
	return s.procs[InitPID]
}

// notifyExitLocked is the kernel's do_notify_parent for a zombie c.
func (s *Space) notifyExitLocked(c *proc, eff *Effects) {
	parent := s.procs[c.PPID]
	if parent == nil {
		// Nobody can ever wait for it.
		s.removeLocked(c)
		eff.Reaped = append(eff.Reaped, c.PID)
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
	eff.retry(parent.PID)
	if autoreap {
		s.removeLocked(c)
		eff.Reaped = append(eff.Reaped, c.PID)
	}
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
		if m.State == Zombie || m.Virtual {
			continue
		}
		stopped = stopped || m.State == Stopped
		members = append(members, m.target())
	}
	if stopped {
		eff.OrphanedGroups = append(eff.OrphanedGroups, OrphanedGroup{PGID: pgid, Members: members})
	}
}

// orphanedLocked is POSIX's orphaned process group test, as the kernel's
// will_become_orphaned_pgrp: no live member has a parent in another group
// of the same session. A parent that is herd-init is no link, and an
// empty group is orphaned.
func (s *Space) orphanedLocked(pgid int) bool {
	for _, m := range s.groups[pgid] {
		if m.State == Zombie || m.PPID == InitPID {
			continue
		}
		parent := s.procs[m.PPID]
		if parent != nil && parent.PGID != pgid && parent.SID == m.SID {
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
func (s *Space) OrphanedPgrp(pgid int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orphanedLocked(pgid)
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
	if !parent.Sigchld.Ignored && !parent.Sigchld.NoCldStop {
		eff.Notify = append(eff.Notify, Notification{
			Parent: parent.target(),
			Signal: int(syscall.SIGCHLD),
			Info:   ChildInfo{PID: p.PID, UID: p.Creds.RUID, Code: code, Status: status},
		})
	}
	eff.retry(parent.PID)
}
