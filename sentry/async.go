package sentry

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"
)

// An AsyncFunc does the slow part of an emulated call off the tracer
// thread: a call to a peer, a wait for a record. It must return soon after
// ctx is cancelled, which happens when a signal interrupts the call or the
// task dies. On success then, if not nil, runs on the tracer thread while
// the task is stopped and gives the call's result (it may write the answer
// into the task's memory first); a nil then makes the result 0. A non-nil
// err fails the call with its errno (EIO if err is not a unix.Errno).
type AsyncFunc func(ctx context.Context) (then func(t *Task) int64, err error)

// AsyncThen runs f on a goroutine while the task waits in the kernel as
// Park has it (in pause(), so signals reach it), and completes the call
// with f's answer. A signal that arrives first cancels f's context and
// ends the call with -ERESTARTSYS (EINTR, or a restart under SA_RESTART,
// exactly as a parked call); f's answer is then dropped, as it is for a
// task that died or went on to another call.
func AsyncThen(f AsyncFunc) Action {
	act := Park(nil)
	act.async = f
	return act
}

// Async is AsyncThen for a function whose answer is just a value or an
// error: the call returns v or fails with err's errno.
func Async(f func(ctx context.Context) (v int64, err error)) Action {
	return AsyncThen(func(ctx context.Context) (func(*Task) int64, error) {
		v, err := f(ctx)
		if err != nil {
			return nil, err
		}
		return func(*Task) int64 { return v }, nil
	})
}

// startAsync runs the function of t's parked call p. Tracer thread.
func (s *Sentry) startAsync(t *Task, p *parked, f AsyncFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	// Released however the call ends, which also cancels it if a
	// signal or the task's end comes first.
	p.release = cancel
	s.inflight.Add(1)
	go func() {
		then, err := f(ctx)
		s.Post(func() {
			defer s.inflight.Done()
			s.completeAsync(t, p, then, err)
		})
	}()
}

// completeAsync wakes t with an async function's answer, unless the call
// it answers is over (interrupted, or the task gone or exec'd).
func (s *Sentry) completeAsync(t *Task, p *parked, then func(*Task) int64, err error) {
	if t.park != p || p.done {
		return
	}
	if err != nil {
		t.Wake(-int64(errnoOf(err)))
		return
	}
	t.Wake(0)
	p.then = then
}

// errnoOf is err's errno, EIO if it carries none.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}
