package sentry

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// A CloneOp is a clone, fork or vfork in flight: the handler fills the
// request fields, the sentry the results.
type CloneOp struct {
	// Thread is set for CLONE_THREAD: the child joins the caller's
	// thread group.
	Thread bool
	// Flags are the clone flags as the caller asked (before any rewrite).
	Flags uint64
	// AllocPID is called under the node's fork lock for the PID the
	// kernel must give the child.
	AllocPID func() (int, error)
	// Failed is called when the clone fails in the kernel after AllocPID;
	// pid was never used.
	Failed func(pid int, err unix.Errno)
	// Value is the handler's own state, carried to Hooks.Cloned.
	Value any
	// Taken, if set, says whether the process model already holds pid
	// (a zombie the kernel has forgotten, a launcher's virtual PID). It
	// is asked only when the kernel gave another PID than AllocPID's (a
	// thread of herd-init took that one): a new process with a PID the
	// model holds could not be recorded, so its clone is made again.
	Taken func(pid int) bool

	// PID is the PID AllocPID gave; ChildPID the one the kernel gave.
	// They differ only if a thread of herd-init took PID in between (the
	// Hooks then adopt ChildPID and retire PID).
	PID, ChildPID int

	parent *Task
	// entry are the creator's registers before the handler's rewrite:
	// the kernel preserves argument registers across a syscall and code
	// relies on it (glibc's vfork keeps its return address in rdi), so
	// both creator and child get them back.
	entry unix.PtraceRegs
	// locked: the clone holds the fork lock (made by Task.Clone, not a
	// shim's own thread), until it is finished or fails.
	locked bool
}

// restoreArgs puts the argument registers of e back into t's registers.
func restoreArgs(t *Task, e *unix.PtraceRegs) {
	copyArgs(t.Regs(), e)
	t.MarkRegsDirty()
}

// forkLock serialises everything that creates a task in the namespace:
// ns_last_pid is one value per namespace, so only one clone may be in
// flight between writing it and the kernel using it.
type forkLock struct {
	busy bool
	// owner is the task whose clone holds the lock (nil for a spawn): if
	// it vanishes or execs mid-clone, the lock is released for it.
	owner   *Task
	waiters []func()
}

func (l *forkLock) acquire(f func()) {
	if l.busy {
		l.waiters = append(l.waiters, f)
		return
	}
	l.busy = true
	f()
}

func (l *forkLock) release() {
	l.busy = false
	l.owner = nil
	if len(l.waiters) > 0 {
		f := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.acquire(f)
	}
}

// abandon drops the clone of a task that died or exec'd mid-clone.
func (l *forkLock) abandon(s *Sentry, t *Task) {
	t.clone = nil
	if l.busy && l.owner == t {
		s.resetLastPid()
		l.release()
	}
}

// setLastPid makes the kernel's next PID in the namespace be want.
func (s *Sentry) setLastPid(want int) error {
	if _, err := s.lastPid.WriteAt([]byte(strconv.Itoa(want-1)), 0); err != nil {
		return fmt.Errorf("write ns_last_pid: %w", err)
	}
	return nil
}

// resetLastPid points the kernel's cursor back at the low PIDs reserved
// for herd-init's own threads, so that a thread the Go runtime starts
// takes one of those and not the next cluster PID.
func (s *Sentry) resetLastPid() {
	_, _ = s.lastPid.WriteAt([]byte("1"), 0)
}

// Clone runs t's clone/fork/vfork (whose arguments the handler may have
// rewritten) so that the child gets the PID op.AllocPID chooses. The child
// stays stopped until Hooks.Cloned has recorded it.
func (t *Task) Clone(op *CloneOp) Action {
	s := t.s
	op.parent = t
	if s.forks.busy {
		t.state = stateHeld
		s.forks.acquire(func() { s.startClone(t, op) })
		return hold()
	}
	s.forks.busy = true
	return s.cloneAction(t, op)
}

func (s *Sentry) startClone(t *Task, op *CloneOp) {
	if _, ok := s.tasks[t.TID]; !ok {
		s.forks.release()
		return
	}
	s.apply(t, s.cloneAction(t, op))
}

// cloneAction is called holding the fork lock.
func (s *Sentry) cloneAction(t *Task, op *CloneOp) Action {
	pid, err := op.AllocPID()
	if err == nil {
		err = s.setLastPid(pid)
	}
	if err != nil {
		s.forks.release()
		s.log.Warn("clone: no pid", "task", t, "err", err)
		return Errno(unix.EAGAIN)
	}
	op.PID = pid
	op.entry = t.entry
	op.locked = true
	t.clone = op
	s.forks.owner = t
	// The clone is finished at the creator's clone event (cloneEvent),
	// which resumes it with PTRACE_CONT: the exit stop is reached only
	// when the kernel refused the clone (no event), or when the event
	// did not name the child.
	return NativeThen(s.cloneExit)
}

// cloneExit runs at the exit stop of a clone not finished at its event.
func (s *Sentry) cloneExit(t *Task, ret int64) {
	op := t.clone
	t.clone = nil
	if op == nil {
		return
	}
	if ret > 0 {
		// The event did not name the child; the return value does
		// (its PID in the creator's namespace, which is herd-init's).
		if op.locked && int(ret) != op.PID {
			s.log.Warn("clone: child pid differs from the forced one", "task", t, "want", op.PID, "got", ret)
		}
		if child, stopped := s.finishClone(t, op, int(ret)); stopped {
			s.firstRun(child)
		}
		return
	}
	if !op.locked {
		return
	}
	restoreArgs(t, &op.entry)
	// The kernel refused (EAGAIN, ENOMEM, EINVAL…): no event came, the
	// lock is still ours.
	s.resetLastPid()
	s.forks.release()
	if op.Failed != nil {
		op.Failed(op.PID, unix.Errno(-ret))
	}
}

// finishClone records the child pid of t's clone op: the fork lock is
// released, the creator's argument registers restored (they survive to
// user mode from any stop; the kernel sets only rax) and the child born.
// It reports the child and whether its first stop is already in (nil if
// it died before its birth).
func (s *Sentry) finishClone(t *Task, op *CloneOp, pid int) (*Task, bool) {
	op.ChildPID = pid
	if op.locked {
		op.locked = false
		s.resetLastPid()
		s.forks.release()
		restoreArgs(t, &op.entry)
	} else {
		// A clone before the filter was installed: the shim's own Go
		// runtime threads. They die at its exec; adopt them so they
		// run and their exits are seen.
		op.Thread = tgidOf(pid) == t.TGID
	}
	t.clone, t.after = nil, nil
	return s.birth(op)
}

// taken reports whether the kernel gave op's new process a PID that the
// process model holds (see CloneOp.Taken).
func taken(op *CloneOp, pid int) bool {
	return op.locked && pid != op.PID && !op.Thread && op.Taken != nil && op.Taken(pid)
}

// redoClone discards the child of t's clone, whose PID the process model
// already holds, and makes t run its clone again from the start, when it
// is trapped again and gets a new PID. The PID AllocPID gave stays
// retired: a thread of herd-init holds it in the kernel. (A pidfd the
// discarded clone made, with CLONE_PIDFD, stays open in the creator.)
func (s *Sentry) redoClone(t *Task, op *CloneOp, pid int) {
	s.log.Warn("clone: the kernel's pid is taken in the process model; cloning again", "task", t, "want", op.PID, "got", pid)
	s.discarded[pid] = true
	delete(s.newborns, pid)
	_ = unix.Kill(pid, unix.SIGKILL)
	op.locked = false
	s.resetLastPid()
	s.forks.release()
	t.clone = nil
	entry := op.entry
	t.after = func(t *Task, _ int64) {
		r := t.Regs()
		*r = entry
		rewindSyscall(r, uint64(sysnoOf(&entry)))
		t.MarkRegsDirty()
	}
	s.resumeToExit(t, stateAwaitExit)
}

// letRun resumes the creator of a clone at its clone event and the
// child, so that the scheduler, not the tracer, decides which runs first
// (resumePair). If the child's first stop is not in yet and the child
// would preempt its creator (its priority is at least the creator's),
// the creator is held until it is (newbornStop); a lower-priority
// child cannot overtake its creator, which goes on at once (holding it
// could let a middle-priority task block a high-priority creator).
func (s *Sentry) letRun(creator, child *Task, stopped bool) {
	switch {
	case child == nil:
		s.resume(creator, 0)
	case stopped:
		s.resumePair(creator, child)
	case schedRank(child.TID) >= schedRank(creator.TID):
		creator.state = stateAwaitChild
		child.creator = creator
	default:
		s.resume(creator, 0)
	}
}

// resumePair resumes a creator, then its new child, with nothing left for
// the tracer in between: at equal priority the creator, woken first, runs
// first, and a higher-priority child preempts it at once, as natively.
// A real-time creator would run the moment it is woken, before its child
// is (it preempts the tracer on their CPU, or runs on its own while the
// tracer still works): the tracer then joins the creator's CPU, if it
// has just one, and outranks both while it wakes them. Both restarts are
// held and made back to back (flushPair), so that the Go scheduler cannot
// park the tracer between them.
func (s *Sentry) resumePair(creator, child *Task) {
	restore := boostTracer(creator.TID)
	s.pair.holding = true
	s.resume(creator, 0)
	s.firstRun(child)
	s.pair.holding = false
	s.flushPair()
	restore()
}

// boostTracer raises the calling (tracer) thread to SCHED_FIFO above
// task tid when that is real-time, and moves it to tid's CPU when tid may
// run only on one, and returns what undoes it.
func boostTracer(tid int) (restore func()) {
	rank := schedRank(tid)
	if rank <= 0 || rank >= 99 {
		return func() {}
	}
	old, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return func() {}
	}
	boost := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(rank + 1)}
	if err := unix.SchedSetAttr(0, &boost, 0); err != nil {
		return func() {}
	}
	var mine, theirs unix.CPUSet
	moved := unix.SchedGetaffinity(0, &mine) == nil && unix.SchedGetaffinity(tid, &theirs) == nil &&
		theirs.Count() == 1 && mine != theirs && unix.SchedSetaffinity(0, &theirs) == nil
	// The CPUs first: dropping the priority lets the creator preempt the
	// tracer, which, pinned, would then wait on that CPU until the
	// creator blocks instead of moving to another.
	return func() {
		if moved {
			_ = unix.SchedSetaffinity(0, &mine)
		}
		_ = unix.SchedSetAttr(0, old, 0)
	}
}

// heldCreator returns (and forgets) the creator held at its clone event
// for child, if it is still held there.
func (s *Sentry) heldCreator(child *Task) *Task {
	c := child.creator
	child.creator = nil
	if c == nil || s.tasks[c.TID] != c || c.state != stateAwaitChild {
		return nil
	}
	return c
}

// newbornStop handles the first stop of a child recorded at its
// creator's event: its creator, if held for it, runs first, then the
// child.
func (s *Sentry) newbornStop(child *Task) {
	if c := s.heldCreator(child); c != nil {
		s.resumePair(c, child)
		return
	}
	s.firstRun(child)
}

// schedRank orders tasks as the scheduler's preemption does: deadline
// above real-time (by priority) above the normal policies above idle.
func schedRank(tid int) int {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return 0
	}
	switch a.Policy {
	case unix.SCHED_DEADLINE:
		return 200
	case unix.SCHED_FIFO, unix.SCHED_RR:
		return int(a.Priority)
	case unix.SCHED_IDLE:
		return -1
	}
	return 0
}
