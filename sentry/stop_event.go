package sentry

// Ptrace events of a task's life: clone (clone.go has the fork lock),
// exec, and exit.

import (
	"herd/procview"

	"golang.org/x/sys/unix"
)

func (s *Sentry) execEvent(t *Task) {
	former, _ := ptraceGetEventMsg(t.TID)
	if int(former) != t.TID {
		// A non-leader thread exec'd: it took the leader's TID.
		if old := s.tasks[int(former)]; old != nil {
			old.endPark()
			s.forks.abandon(s, old)
			delete(s.tasks, int(former))
			s.procOf(t.TGID).threads--
			s.cfg.Hooks.ThreadExited(int(former), t.TGID)
		}
	}
	s.forks.abandon(s, t) // the old leader, gone mid-clone?
	t.endPark()
	t.after, t.clone = nil, nil
	s.procOf(t.TGID).shim = false
	s.cfg.Hooks.Execed(t)
	s.resume(t, 0)
}

func (s *Sentry) gone(t *Task, ws unix.WaitStatus, ru *unix.Rusage) {
	delete(s.tasks, t.TID)
	t.endPark()
	s.forks.abandon(s, t)
	for _, inj := range t.injections {
		inj.done(-int64(unix.ESRCH))
	}
	if t.inject != nil {
		t.inject.done(-int64(unix.ESRCH))
	}
	t.injections, t.inject = nil, nil
	p := s.procOf(t.TGID)
	p.threads--
	if !t.IsLeader() {
		s.cfg.Hooks.ThreadExited(t.TID, t.TGID)
		return
	}
	delete(s.procs, t.TGID)
	s.cfg.Hooks.Exited(t.TGID, ws, ru)
}

// adopt registers a task the tracer now owns.
func (s *Sentry) adopt(t *Task) {
	s.tasks[t.TID] = t
	s.procOf(t.TGID).threads++
}

// cloneEvent handles PTRACE_EVENT_FORK/VFORK/CLONE at the creator.
func (s *Sentry) cloneEvent(t *Task) {
	msg, err := ptraceGetEventMsg(t.TID)
	if err != nil {
		s.log.Warn("clone event", "task", t, "err", err)
		s.resume(t, 0)
		return
	}
	op := t.clone
	if op == nil {
		// A clone before the filter was installed: the shim's own Go
		// runtime threads. They die at its exec; adopt them so they
		// run and their exits are seen.
		op = &CloneOp{Thread: tgidOf(int(msg)) == t.TGID, parent: t}
		op.ChildPID = int(msg)
		t.after = nil
	} else {
		op.ChildPID = int(msg)
		s.resetLastPid()
		s.forks.release()
	}
	s.birth(op)
	// The creator goes on to its exit stop (the clone's after func).
	s.resumeToExit(t, stateAwaitExit)
}

// tgidOf reads the thread group of tid from /proc: 0 if tid is gone.
func tgidOf(tid int) int {
	st, err := procview.ReadStatus(tid)
	if err != nil {
		return 0
	}
	return st.Tgid
}

// newborn handles the first stop of an auto-attached child whose
// creator's event has not arrived: it waits, stopped, for birth.
func (s *Sentry) newborn(tid int) {
	s.newborns[tid] = &Task{TID: tid, s: s, state: stateNewborn}
}

// birth records a child when its creator's event arrives, before the
// creator runs again (so a wait for it finds it), and lets the child run
// once its own first stop is in.
func (s *Sentry) birth(op *CloneOp) {
	parent := op.parent
	child := s.newborns[op.ChildPID]
	stopped := child != nil
	delete(s.newborns, op.ChildPID)
	if !stopped {
		child = &Task{TID: op.ChildPID, s: s, state: stateNewborn}
	}
	if op.PID != 0 {
		child.fixArgs = &op.entry
	}
	if op.Thread {
		child.TGID = parent.TGID
	} else {
		child.TGID = child.TID
	}
	s.adopt(child)
	s.cfg.Hooks.Cloned(parent, child, op)
	if stopped {
		s.firstRun(child)
	}
}

// firstRun lets a new child run, with the argument registers its creator
// had before any rewrite.
func (s *Sentry) firstRun(t *Task) {
	if t.fixArgs != nil {
		restoreArgs(t, t.fixArgs)
		t.fixArgs = nil
	}
	// Right after its clone: rip follows a syscall instruction.
	if s.injectNext(t) {
		return
	}
	s.resume(t, 0)
}
