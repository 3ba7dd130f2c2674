package sentry

// The tracer's dispatch of a wait4 report to the handler of its kind of
// stop (stop_syscall.go, stop_event.go, stop_signal.go,
// stop_interrupt.go), and the two ways to resume a stopped task.

import (
	"errors"

	"golang.org/x/sys/unix"
)

// syscallTrap is the stop signal of a syscall stop under
// PTRACE_O_TRACESYSGOOD.
const syscallTrap = unix.SIGTRAP | 0x80

// stopCause is the ptrace event of a stop (status>>16). Not
// ws.TrapCause: it hides the event of a stop by any signal but SIGTRAP,
// and group-stops (PTRACE_EVENT_STOP) report their stop signal.
func stopCause(ws unix.WaitStatus) int { return int(ws>>16) & 0xff }

// event handles one wait4 report about tid.
func (s *Sentry) event(tid int, ws unix.WaitStatus, ru *unix.Rusage) {
	t := s.tasks[tid]
	switch {
	case ws.Exited() || ws.Signaled():
		switch {
		case t != nil:
			s.gone(t, ws, ru)
		case s.discarded[tid]:
			delete(s.discarded, tid) // the child of a clone made again
			delete(s.newborns, tid)
		default:
			// A newborn's, or a child's whose creator's event is
			// not in yet: remembered for its birth.
			delete(s.newborns, tid)
			s.stillborn.add(tid, ws, ru)
		}
	case ws.Continued():
		// The kernel's report to the real parent; the POSIX one is
		// made from the tracee's own stops.
	case !ws.Stopped():
	case t == nil && s.discarded[tid]:
		// The first stop of a discarded child, killed: its exit follows.
	case t == nil:
		s.newborn(tid)
	default:
		s.stopped(t, ws)
	}
}

// stopped dispatches a ptrace stop of t by its kind.
func (s *Sentry) stopped(t *Task, ws unix.WaitStatus) {
	t.regsValid = false
	// Any ptrace stop satisfies a pending PTRACE_INTERRUPT: the kernel
	// clears the trap, so no separate interrupt stop will follow.
	t.interrupted = false
	sig, cause := ws.StopSignal(), stopCause(ws)
	isSeccomp := sig == unix.SIGTRAP && cause == unix.PTRACE_EVENT_SECCOMP
	switch {
	case t.state == stateNewborn:
		s.newbornStop(t)
	case t.state == stateInjecting && (sig == syscallTrap || isSeccomp):
		s.injectionStop(t, sig == syscallTrap)
	case sig == syscallTrap && t.state == stateAwaitEntry:
		s.awaitedEntry(t)
	case sig == syscallTrap:
		s.syscallExit(t)
	case isSeccomp:
		s.syscallEntry(t)
	case cause == unix.PTRACE_EVENT_FORK || cause == unix.PTRACE_EVENT_VFORK || cause == unix.PTRACE_EVENT_CLONE:
		s.cloneEvent(t)
	case cause == unix.PTRACE_EVENT_EXEC:
		s.execEvent(t)
	case cause == unix.PTRACE_EVENT_STOP && (sig == unix.SIGTRAP || sig == 0):
		s.interruptStop(t)
	case cause == unix.PTRACE_EVENT_STOP:
		s.groupStop(t, int(sig))
	case cause == 0:
		s.signalStop(t, int(sig))
	default:
		s.resume(t, 0)
	}
}

// resume continues t with signal sig (0 for none). A task with
// injections pending goes on to its next syscall entry instead, where they
// run.
func (s *Sentry) resume(t *Task, sig int) {
	if len(t.injections) > 0 {
		s.toNextEntry(t, sig)
		return
	}
	s.restart(t, stateRunning, unix.PTRACE_CONT, sig)
}

// resumeToExit continues t to its syscall-exit stop.
func (s *Sentry) resumeToExit(t *Task, state taskState) { s.resumeSyscall(t, state, 0) }

// resumeSyscall continues t (with signal sig) to its next syscall stop,
// in state.
func (s *Sentry) resumeSyscall(t *Task, state taskState, sig int) {
	s.restart(t, state, unix.PTRACE_SYSCALL, sig)
}

// restart writes back t's changed registers and restarts it in state with
// ptrace request req (PTRACE_CONT or PTRACE_SYSCALL) and signal sig.
func (s *Sentry) restart(t *Task, state taskState, req, sig int) {
	if err := t.flushRegs(); err != nil {
		s.log.Debug("resume", "task", t, "err", err)
	}
	t.state = state
	t.regsValid = false
	if s.pair.hold(t, req, sig) {
		return
	}
	if err := ptrace(req, t.TID, 0, uintptr(sig)); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("ptrace resume", "task", t, "request", req, "err", err)
	}
}
