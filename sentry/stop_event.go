package sentry

// Ptrace events of a task's life: clone (clone.go has the fork lock),
// exec, and exit.

import (
	"time"

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
			s.threadIDs.drop(int(former))
			s.procOf(t.TGID).threads--
			s.cfg.Hooks.ThreadExited(int(former), t.TGID)
		}
	}
	s.forks.abandon(s, t) // the old leader, gone mid-clone?
	t.endPark()
	t.after, t.clone = nil, nil
	if s.placedExec(t) {
		return
	}
	s.procOf(t.TGID).shim = false
	s.cfg.Hooks.Execed(t)
	s.resume(t, 0)
}

func (s *Sentry) gone(t *Task, ws unix.WaitStatus, ru *unix.Rusage) {
	delete(s.tasks, t.TID)
	s.threadIDs.drop(t.TID)
	if c := s.heldCreator(t); c != nil {
		s.resume(c, 0) // held for t's first stop, which never came
	}
	defer s.armPhantomGuard()
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
	if s.placedGone(p, ws) {
		return
	}
	if p.departed {
		if p.departedGone != nil {
			p.departedGone()
		}
		return
	}
	s.cfg.Hooks.Exited(t.TGID, ws, ru)
}

// adopt registers a task the tracer now owns.
func (s *Sentry) adopt(t *Task) {
	s.tasks[t.TID] = t
	s.threadIDs.set(t.TID, t.TGID)
	s.procOf(t.TGID).threads++
}

// cloneEvent handles PTRACE_EVENT_FORK/VFORK/CLONE at the creator: the
// clone is finished here and creator and child resumed together (letRun).
func (s *Sentry) cloneEvent(t *Task) {
	msg, err := ptraceGetEventMsg(t.TID)
	op := t.clone
	if op == nil {
		// Not a trapped clone: one of the shim's Go runtime threads.
		op = &CloneOp{parent: t}
		t.clone = op
	}
	if err != nil || msg == 0 || msg > maxTID {
		// Never birth a child without a real PID: the event does not
		// name it (the creator is dying, or the child is outside our
		// namespace), so finish at the exit stop from the return value.
		s.log.Error("clone event names no child; finishing at the exit stop", "task", t, "msg", msg, "err", err)
		t.after = s.cloneExit
		s.resumeToExit(t, stateAwaitExit)
		return
	}
	if taken(op, int(msg)) {
		s.redoClone(t, op, int(msg))
		return
	}
	child, stopped := s.finishClone(t, op, int(msg))
	s.letRun(t, child, stopped)
}

// maxTID bounds a PID the kernel can report (PID_MAX_LIMIT).
const maxTID = 1 << 22

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
// creator runs again (so a wait for it finds it). It reports the child
// and whether its first stop is already in; the caller lets it run. A
// child whose death was collected before its birth (a kill from outside
// before its first instruction) is born and dies at once, so its
// parent's wait sees it die: it reports nil.
func (s *Sentry) birth(op *CloneOp) (*Task, bool) {
	parent := op.parent
	child := s.newborns[op.ChildPID]
	stopped := child != nil
	delete(s.newborns, op.ChildPID)
	if !stopped {
		child = &Task{TID: op.ChildPID, s: s, state: stateNewborn, born: time.Now()}
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
		s.stillborn.take(child.TID) // a stale death of a former holder of the TID
	} else {
		if d, dead := s.deadBeforeBirth(child); dead {
			s.log.Warn("child died before its birth", "task", child, "status", d.ws)
			s.gone(child, d.ws, &d.ru)
			return nil, false
		}
	}
	return child, stopped
}

// restoreBirthArgs gives a new child, once, the argument registers its
// creator had before the handler's rewrite (see CloneOp.entry).
func (t *Task) restoreBirthArgs() {
	if t.fixArgs != nil {
		restoreArgs(t, t.fixArgs)
		t.fixArgs = nil
	}
}

// firstRun lets a new child run, with the argument registers its creator
// had before any rewrite.
func (s *Sentry) firstRun(t *Task) {
	t.restoreBirthArgs()
	// Right after its clone: rip follows a syscall instruction.
	if s.injectNext(t) {
		return
	}
	s.resume(t, 0)
}
