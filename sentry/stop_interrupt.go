package sentry

// Interrupt stops: the sentry stops a running task with PTRACE_INTERRUPT
// to wake a parked call (Task.Wake) or to reach its next syscall entry
// for an injection (inject.go); a listening task woken by SIGCONT stops
// the same way.

import (
	"golang.org/x/sys/unix"
)

// interrupt asks the kernel to stop t (PTRACE_INTERRUPT) unless a request
// is already outstanding; the next stop of any kind satisfies it.
func (t *Task) interrupt() error {
	if t.interrupted {
		return nil
	}
	if err := ptraceInterrupt(t.TID); err != nil {
		return err
	}
	t.interrupted = true
	return nil
}

// interruptStop handles PTRACE_INTERRUPT's stop, or that of a listening
// task woken by SIGCONT (its process group-stop is over).
func (s *Sentry) interruptStop(t *Task) {
	if p := s.procOf(t.TGID); t.state == stateGroupStop && p.stopped {
		p.stopped, p.stopAs = false, 0
		s.cfg.Hooks.Continued(t.TGID)
	}
	s.resume(t, 0)
}

// awaitedEntry handles a syscall stop of a task resumed to its next
// syscall's entry for an injection.
func (s *Sentry) awaitedEntry(t *Task) {
	if syscallStopKind(t.TID) != unix.PTRACE_SYSCALL_INFO_ENTRY {
		// The exit of a call already under way (an execve, a
		// restarted call): go on to the next entry.
		s.toNextEntry(t, 0)
		return
	}
	if !s.injectAtEntry(t) {
		s.resume(t, 0)
	}
}
