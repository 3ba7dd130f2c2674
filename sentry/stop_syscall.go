package sentry

// Syscall-entry (seccomp) and syscall-exit stops: a trapped call's
// handler runs at entry and its Action is carried out; NativeThen's
// function and a parked call's wake-up at exit.

import (
	"golang.org/x/sys/unix"
)

func (s *Sentry) syscallEntry(t *Task) {
	if s.injectAtEntry(t) {
		return
	}
	nr := sysnoOf(t.Regs())
	t.sysno = nr
	t.entry = t.regs
	t.state = stateSyscall
	row := s.cfg.Table.Lookup(uintptr(nr))
	if row == nil || row.Handler == nil {
		s.resume(t, 0)
		return
	}
	// The shim's own calls are not the user's program: not traced.
	tracing := s.cfg.Strace != nil && !s.procOf(t.TGID).shim
	var args [6]uintptr
	if tracing {
		args = argsOf(t.Regs())
	}
	act := row.Handler(t)
	if tracing {
		act = s.trace(t, row, args, act)
	}
	s.apply(t, act)
}

func (s *Sentry) apply(t *Task, act Action) {
	switch act.kind {
	case actNative:
		if act.after != nil {
			t.after = act.after
			s.resumeToExit(t, stateAwaitExit)
			return
		}
		s.resume(t, 0)
	case actReturn:
		r := t.Regs()
		setSysno(r, noSyscall) // skip the call
		setRet(r, act.val)
		t.MarkRegsDirty()
		s.resume(t, 0)
	case actPark:
		r := t.Regs()
		t.park = &parked{nr: uint64(sysnoOf(r)), cancel: act.cancel, interrupted: act.interrupted}
		if act.async != nil {
			s.startAsync(t, t.park, act.async)
		}
		setSysno(r, unix.SYS_PAUSE)
		t.MarkRegsDirty()
		s.resumeToExit(t, stateParked)
	case actHold:
		t.state = stateHeld
	}
}

// SetReturn sets the result the current syscall returns; for use in a
// NativeThen function at the exit stop.
func (t *Task) SetReturn(v int64) {
	setRet(t.Regs(), v)
	t.MarkRegsDirty()
}

func (s *Sentry) syscallExit(t *Task) {
	switch t.state {
	case stateParked:
		s.unpark(t)
	case stateAwaitExit:
		f := t.after
		t.after = nil
		ret := retOf(t.Regs())
		if f != nil {
			f(t, ret)
		}
		if isRestart(ret) {
			// The kernel will restart the call from orig_rax and the
			// argument registers: make it the call the task made, not
			// the handler's rewrite, which will be trapped again.
			r := t.Regs()
			setSysno(r, uint64(sysnoOf(&t.entry)))
			copyArgs(r, &t.entry)
			t.MarkRegsDirty()
		}
		s.resume(t, 0)
	default:
		s.resume(t, 0)
	}
}

func isRestart(ret int64) bool {
	switch int(-ret) {
	case ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK:
		return true
	}
	return false
}
