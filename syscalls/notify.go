package syscalls

import (
	"golang.org/x/sys/unix"

	"herd/sentry"
)

// answered makes h the Answer of a notified row (sentry.Notify): the same
// handler answers the call with or without a ptrace stop, so both give
// the same result. h runs on a receiver goroutine, off the tracer thread,
// on a notifTask: it may use only the caller's identity, its argument
// registers and the methods of the process model that are safe from any
// goroutine (see ProcessModel), and must answer with ret or fail.
func answered(h handler) sentry.Answer {
	return func(c *sentry.Call) (v int64) {
		defer func() {
			// A handler that reaches for more than a notification has
			// is a table error; the call fails rather than herd-init.
			if recover() != nil {
				v = -int64(unix.ENOSYS)
			}
		}()
		a := h(notifTask{c: c})
		if a.kind != actReturn {
			return -int64(unix.ENOSYS)
		}
		return a.val
	}
}

// notifTask is a notified call as a task: its identity and argument
// registers. The task methods it does not have (memory, registers,
// parking) are nil and panic: no notified row may need them.
type notifTask struct {
	task
	c *sentry.Call
}

func (n notifTask) TID() int          { return n.c.TID }
func (n notifTask) TGID() int         { return n.c.TGID }
func (n notifTask) Sysno() int        { return int(n.c.Nr) }
func (n notifTask) Arg(i int) uintptr { return n.c.Arg(i) }
