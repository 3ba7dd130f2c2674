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
	t.clone = op
	s.forks.owner = t
	return NativeThen(func(t *Task, ret int64) {
		op := t.clone
		t.clone = nil
		if op == nil {
			return
		}
		restoreArgs(t, &op.entry)
		if ret < 0 && op.ChildPID == 0 {
			// The kernel refused (EAGAIN, ENOMEM, EINVAL…): no event
			// came, the lock is still ours.
			s.resetLastPid()
			s.forks.release()
			if op.Failed != nil {
				op.Failed(op.PID, unix.Errno(-ret))
			}
		}
	})
}
