package sentry

// Parked calls: an emulated call waits in pause() until Task.Wake (or an
// async function, async.go) completes it or a signal interrupts it.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// parked is an emulated call waiting in pause().
type parked struct {
	nr          uint64 // the real syscall, restored for a restart
	cancel      func()
	interrupted int64
	// release, if set, runs whenever the call ends (an async call's
	// context is released).
	release func()
	done    bool
	val     int64
	// then finishes a completed async call at the exit stop.
	then func(t *Task) int64
}

// endPark drops t's parked call, if any, as the task dies or execs: an
// emulation still under way is withdrawn.
func (t *Task) endPark() {
	p := t.park
	t.park = nil
	if p != nil {
		p.end()
	}
}

// end runs as the call ends, however it ends: an emulation not completed
// is withdrawn (cancel), and whatever the call held is released.
func (p *parked) end() {
	if !p.done && p.cancel != nil {
		p.cancel()
	}
	if p.release != nil {
		p.release()
	}
}

// Wake completes t's parked call with result v. It may be called any
// time on the tracer thread; a call already interrupted by a signal (and
// so cancelled) ignores it.
func (t *Task) Wake(v int64) {
	p := t.park
	if p == nil || p.done {
		return
	}
	p.done, p.val = true, v
	if err := t.interrupt(); err != nil && !errors.Is(err, unix.ESRCH) {
		t.s.log.Warn("ptrace interrupt", "task", t, "err", err)
	}
}

// Parked reports whether t waits in an emulated call.
func (t *Task) Parked() bool { return t.park != nil && !t.park.done }

func (s *Sentry) unpark(t *Task) {
	p := t.park
	t.park = nil
	r := t.Regs()
	setSysno(r, p.nr)
	if p.done {
		setRet(r, p.val)
		if p.then != nil {
			// The task is stopped, its arguments in their registers:
			// then may read them and write the task's memory.
			setRet(r, p.then(t))
		}
	} else {
		// A signal (or a spurious wake) ended pause(): the emulation
		// is withdrawn (end) and the kernel's restart logic decides,
		// with the task's own signal mask if BlockSignals took it.
		setRet(r, p.interrupted)
		if t.unblock != nil {
			t.unblock()
		}
	}
	p.end()
	t.MarkRegsDirty()
	if s.cfg.Strace != nil {
		fmt.Fprintf(s.cfg.Strace, "[pid %d] <... %s resumed> = %s\n", t.TID, s.sysName(int(p.nr)), retString(retOf(r)))
	}
	s.resume(t, 0)
}
