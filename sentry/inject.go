package sentry

import (
	"golang.org/x/sys/unix"
)

// An injection is a syscall the sentry makes a task execute on its
// behalf: the task is stopped, its registers saved, pointed at a
// `syscall` instruction with the call's number and arguments, run to the
// call's exit stop, and put back exactly as it was. The kernel then sees
// the call as the task's own (credentials, namespaces, process group
// rules), which is what the sentry needs when only the task itself may
// make a change, e.g. join a process group.
type injection struct {
	nr    uintptr
	args  [6]uintptr
	done  func(ret int64)
	saved unix.PtraceRegs
	// entered is set once the injected call's entry stop was seen.
	entered bool
	// restart: the injection replaced a syscall at its entry; that
	// syscall runs again afterwards.
	restart bool
}

// Inject runs syscall nr(args) in t and calls done with the result on the
// tracer thread. A new child that has not run yet does it at its first
// stop. A running task is interrupted and run to the entry of its next
// syscall (a blocked call is restarted at once), where the injected call
// takes that one's place and that one is restarted after it: at an entry
// stop no signal can be delivered onto the injection's registers, which
// rules out injecting at the interrupt stop itself. done may wait for the
// task's next syscall. A task in a group-stop or held by the fork lock is
// left alone: done gets -EAGAIN at once, and Inject returns false.
func (t *Task) Inject(nr uintptr, args [6]uintptr, done func(ret int64)) bool {
	inj := &injection{nr: nr, args: args, done: done}
	switch t.state {
	case stateNewborn:
	case stateRunning, stateAwaitExit, stateParked:
		if err := t.interrupt(); err != nil {
			done(-int64(unix.ESRCH))
			return false
		}
	default:
		done(-int64(unix.EAGAIN))
		return false
	}
	t.injections = append(t.injections, inj)
	return true
}

// toNextEntry resumes t, which has injections pending, so that it stops at
// the entry of its next syscall (with sig delivered first, if any).
func (s *Sentry) toNextEntry(t *Task, sig int) { s.resumeSyscall(t, stateAwaitEntry, sig) }

// injectNext starts the first pending injection of t, stopped at its first
// stop, just after the clone's syscall instruction, which it reuses. It
// reports whether one was started.
func (s *Sentry) injectNext(t *Task) bool {
	if len(t.injections) == 0 {
		return false
	}
	inj := t.injections[0]
	t.injections = t.injections[1:]
	r := t.Regs()
	inj.saved = *r
	rewindSyscall(r, uint64(inj.nr))
	setSysno(r, noSyscall)
	setArgs(r, inj.args)
	t.MarkRegsDirty()
	t.inject = inj
	s.resumeToExit(t, stateInjecting)
	return true
}

// injectAtEntry runs the first pending injection in place of the syscall
// t is stopped at the entry of (a syscall-entry or seccomp stop); that
// syscall is restarted afterwards.
func (s *Sentry) injectAtEntry(t *Task) bool {
	if len(t.injections) == 0 {
		return false
	}
	inj := t.injections[0]
	t.injections = t.injections[1:]
	r := t.Regs()
	inj.saved = *r
	inj.entered = true // already past entry: the next syscall stop is its exit
	inj.restart = true
	setSysno(r, uint64(inj.nr))
	setArgs(r, inj.args)
	t.MarkRegsDirty()
	t.inject = inj
	s.resumeToExit(t, stateInjecting)
	return true
}

// injectionStop handles a stop of a task running an injected call: its
// entry stop, its seccomp stop (the filter traps it like any other call)
// and its exit stop, where the result is taken and the task restored.
func (s *Sentry) injectionStop(t *Task, syscallStop bool) {
	inj := t.inject
	if syscallStop && inj.entered && syscallStopKind(t.TID) != unix.PTRACE_SYSCALL_INFO_EXIT {
		syscallStop = false // not our call's exit: keep going
	}
	if !syscallStop || !inj.entered {
		inj.entered = inj.entered || syscallStop
		s.resumeToExit(t, stateInjecting)
		return
	}
	ret := retOf(t.Regs())
	s.log.Debug("injected", "task", t, "nr", inj.nr, "ret", ret)
	t.regs = inj.saved
	if inj.restart {
		// Re-execute the syscall the injection displaced.
		rewindSyscall(&t.regs, uint64(sysnoOf(&t.regs)))
	}
	t.regsValid = true
	t.MarkRegsDirty()
	t.inject = nil
	inj.done(ret)
	if !inj.restart && s.injectNext(t) {
		return
	}
	s.resume(t, 0)
}
