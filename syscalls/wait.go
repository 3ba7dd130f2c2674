package syscalls

import (
	"errors"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// A waiter is a parked wait4 or waitid.
type waiter struct {
	t      task
	req    pidspace.WaitRequest
	finish func(pidspace.WaitResult) int64
	fail   func(unix.Errno) int64
}

// waiters are the parked wait calls, by waiting process.
type waiters map[int][]*waiter

func (ws waiters) add(pid int, w *waiter) { ws[pid] = append(ws[pid], w) }

func (ws waiters) drop(pid int, w *waiter) {
	list := ws[pid]
	for i, x := range list {
		if x == w {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(ws, pid)
	} else {
		ws[pid] = list
	}
}

// wait runs req for t's process: at once if a child has something to
// report (or with WNOHANG), else parked until the process model says a
// child of the caller changed state. finish writes the result to the task
// and returns the syscall's value; fail does for an error.
func (k *Kernel) wait(t task, req pidspace.WaitRequest, options int, finish func(pidspace.WaitResult) int64, fail func(unix.Errno) int64) action {
	if options&unix.WNOTHREAD != 0 {
		tid := t.TID()
		req = req.Only(func(pid int) bool { return k.creators.of[pid] == tid })
	}
	reap := finish
	finish = func(r pidspace.WaitResult) int64 {
		if r.Reaped {
			k.creators.drop(r.PID)
			k.pidfdInodes.reaped(r.PID)
			k.sendRemote(r.Remote) // a child homed elsewhere: its home drops it
		}
		return reap(r)
	}
	pid := caller(t)
	res, err := k.procs.Wait(pid, req)
	if errors.Is(err, pidspace.ErrWouldBlock) {
		w := &waiter{t: t, req: req, finish: finish, fail: fail}
		k.waiters.add(pid, w)
		return park(func() { k.waiters.drop(pid, w) })
	}
	if err != nil {
		return ret(fail(errno(err)))
	}
	return ret(finish(res))
}

// retryWaits re-runs the parked waits of process pid after a child of it
// changed state.
func (k *Kernel) retryWaits(pid int) {
	k.launches.childChanged(pid)
	for _, w := range append([]*waiter(nil), k.waiters[pid]...) {
		res, err := k.procs.Wait(pid, w.req)
		if errors.Is(err, pidspace.ErrWouldBlock) {
			continue
		}
		k.waiters.drop(pid, w)
		if err != nil {
			w.t.Wake(w.fail(errno(err)))
			continue
		}
		w.t.Wake(w.finish(res))
	}
}

// failErrno is a wait's fail for calls that write nothing on error.
func failErrno(e unix.Errno) int64 { return -int64(e) }

// wait4(pid, wstatus, options, rusage)
func (k *Kernel) wait4(t task) action {
	pid := int(int32(t.Arg(0)))
	statusAddr, options, ruAddr := t.Arg(1), int(uint32(t.Arg(2))), t.Arg(3)
	return k.wait(t, pidspace.Wait4(pid, options), options, func(r pidspace.WaitResult) int64 {
		if r.PID == 0 {
			return 0
		}
		if statusAddr != 0 {
			if writeInt32(t, statusAddr, int32(r.Status)) != nil {
				return -int64(unix.EFAULT)
			}
		}
		if putRusage(t, ruAddr, r.Rusage) != nil {
			return -int64(unix.EFAULT)
		}
		return int64(r.PID)
	}, failErrno)
}

// putRusage writes r at addr unless addr is 0.
func putRusage(t task, addr uintptr, r pidspace.Rusage) error {
	if addr == 0 {
		return nil
	}
	ru := kernelRusage(r)
	return writeStruct(t, addr, &ru)
}

// waitid(idtype, id, infop, options, rusage)
func (k *Kernel) waitid(t task) action {
	idtype, id := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	infoAddr, options, ruAddr := t.Arg(2), int(uint32(t.Arg(3))), t.Arg(4)
	fail := func(e unix.Errno) int64 {
		// Linux zeroes the caller's siginfo even when the wait fails.
		if infoAddr != 0 {
			var si sentry.SigInfo
			if writeStruct(t, infoAddr, &si) != nil {
				return -int64(unix.EFAULT)
			}
		}
		return -int64(e)
	}
	if idtype == unix.P_PIDFD {
		pid, err := k.pidfdWaitTarget(t, id)
		if err != nil {
			return ret(fail(errno(err)))
		}
		idtype, id = unix.P_PID, pid
	}
	return k.wait(t, pidspace.Waitid(idtype, id, options), options, func(r pidspace.WaitResult) int64 {
		if infoAddr != 0 {
			var si sentry.SigInfo
			if r.PID != 0 {
				si = sentry.NewChildSigInfo(r.PID, r.UID, r.Code, r.SigStatus)
			}
			// With WNOHANG and nothing ready the kernel still writes
			// a zeroed siginfo: callers test si_pid == 0.
			if writeStruct(t, infoAddr, &si) != nil {
				return -int64(unix.EFAULT)
			}
		}
		if putRusage(t, ruAddr, r.Rusage) != nil {
			return -int64(unix.EFAULT)
		}
		return 0
	}, fail)
}
