package syscalls

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// A waiter is a parked wait4 or waitid.
type waiter struct {
	t      *sentry.Task
	req    pidspace.WaitRequest
	finish func(pidspace.WaitResult) int64
	fail   func(unix.Errno) int64
}

// wait runs req for t's process: at once if a child has something to
// report (or with WNOHANG), else parked until pidspace says a child of the
// caller changed state. finish writes the result to the task and returns
// the syscall's value.
func (k *Kernel) wait(t *sentry.Task, req pidspace.WaitRequest, options int, finish func(pidspace.WaitResult) int64, fail func(unix.Errno) int64) sentry.Action {
	if options&unix.WNOTHREAD != 0 {
		tid := t.TID
		req = req.Only(func(pid int) bool { return k.creators.of[pid] == tid })
	}
	reap := finish
	finish = func(r pidspace.WaitResult) int64 {
		if r.Reaped {
			k.creators.drop(r.PID)
		}
		return reap(r)
	}
	res, err := k.space.Wait(caller(t), req)
	if errors.Is(err, pidspace.ErrWouldBlock) {
		w := &waiter{t: t, req: req, finish: finish, fail: fail}
		pid := caller(t)
		k.waiters[pid] = append(k.waiters[pid], w)
		return sentry.Park(func() { k.dropWaiter(pid, w) })
	}
	if err != nil {
		return sentry.Return(fail(errno(err)))
	}
	return sentry.Return(finish(res))
}

func (k *Kernel) dropWaiter(pid int, w *waiter) {
	ws := k.waiters[pid]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(k.waiters, pid)
	} else {
		k.waiters[pid] = ws
	}
}

// retryWaits re-runs the parked waits of process pid after a child of it
// changed state.
func (k *Kernel) retryWaits(pid int) {
	if l := k.launches[pid]; l != nil {
		k.launchChildChanged(l)
	}
	for _, w := range append([]*waiter(nil), k.waiters[pid]...) {
		res, err := k.space.Wait(pid, w.req)
		if errors.Is(err, pidspace.ErrWouldBlock) {
			continue
		}
		k.dropWaiter(pid, w)
		if err != nil {
			w.t.Wake(w.fail(errno(err)))
			continue
		}
		w.t.Wake(w.finish(res))
	}
}

// wait4(pid, wstatus, options, rusage)
func (k *Kernel) wait4(t *sentry.Task) sentry.Action {
	pid := int(int32(t.Arg(0)))
	statusAddr, options, ruAddr := t.Arg(1), int(uint32(t.Arg(2))), t.Arg(3)
	return k.wait(t, pidspace.Wait4(pid, options), options, func(r pidspace.WaitResult) int64 {
		if r.PID == 0 {
			return 0
		}
		if statusAddr != 0 {
			if t.WriteInt32(statusAddr, int32(r.Status)) != nil {
				return -int64(unix.EFAULT)
			}
		}
		if ruAddr != 0 {
			ru := kernelRusage(r.Rusage)
			if sentry.WriteStruct(t, ruAddr, &ru) != nil {
				return -int64(unix.EFAULT)
			}
		}
		return int64(r.PID)
	}, func(e unix.Errno) int64 { return -int64(e) })
}

const pPIDFD = 3 // P_PIDFD

// waitid(idtype, id, infop, options, rusage)
func (k *Kernel) waitid(t *sentry.Task) sentry.Action {
	idtype, id := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	infoAddr, options, ruAddr := t.Arg(2), int(uint32(t.Arg(3))), t.Arg(4)
	fail := func(e unix.Errno) int64 {
		// Linux zeroes the caller's siginfo even when the wait fails.
		if infoAddr != 0 {
			var si sentry.SigInfo
			if sentry.WriteStruct(t, infoAddr, &si) != nil {
				return -int64(unix.EFAULT)
			}
		}
		return -int64(e)
	}
	if idtype == pPIDFD {
		pid, err := pidfdTarget(t.TID, id)
		if err == unix.ECHILD {
			// Gone from the kernel (herd-init reaps at once) but
			// perhaps a zombie in pidspace: the PID this process
			// opened the pidfd for.
			if p, ok := k.pidfds[caller(t)][id]; ok {
				pid, err = p, nil
			}
		}
		if err != nil {
			return sentry.Return(fail(errno(err)))
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
			if sentry.WriteStruct(t, infoAddr, &si) != nil {
				return -int64(unix.EFAULT)
			}
		}
		if ruAddr != 0 {
			ru := kernelRusage(r.Rusage)
			if sentry.WriteStruct(t, ruAddr, &ru) != nil {
				return -int64(unix.EFAULT)
			}
		}
		return 0
	}, fail)
}

// pidfdTarget returns the PID a pidfd of task tid refers to, from the
// kernel's fdinfo. EBADF if fd is not open, EINVAL if it is no pidfd.
func pidfdTarget(tid, fd int) (int, error) {
	if fd < 0 {
		return 0, unix.EINVAL // as kernel_waitid checks before the fd
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", tid, fd))
	if err != nil {
		return 0, unix.EBADF
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || pid <= 0 {
				// -1: the process is gone from the kernel (reaped by
				// herd-init); POSIX-wise it may still be a zombie.
				return 0, unix.ECHILD
			}
			return pid, nil
		}
	}
	return 0, unix.EINVAL
}

// rusageChildren is the trapped case of getrusage: RUSAGE_CHILDREN. The
// kernel's answer would count herd-init's reaping, not the caller's.
func (k *Kernel) getrusage(t *sentry.Task) sentry.Action {
	if int32(t.Arg(0)) != unix.RUSAGE_CHILDREN {
		return sentry.Native()
	}
	cu, err := k.space.ChildrenRusage(caller(t))
	if err != nil {
		return sentry.Errno(errno(err))
	}
	ru := kernelRusage(cu)
	if sentry.WriteStruct(t, t.Arg(1), &ru) != nil {
		return sentry.Errno(unix.EFAULT)
	}
	return sentry.Return(0)
}

// times runs natively for the caller's own times and the return value,
// then fills in the children's times from pidspace.
func (k *Kernel) times(t *sentry.Task) sentry.Action {
	buf := t.Arg(0)
	if buf == 0 {
		return sentry.Native()
	}
	return sentry.NativeThen(func(t *sentry.Task, ret int64) {
		if ret < 0 && ret > -4096 {
			return
		}
		cu, err := k.space.ChildrenRusage(caller(t))
		if err != nil {
			return
		}
		children := [2]int64{clockTicks(cu.Utime), clockTicks(cu.Stime)}
		if sentry.WriteStruct(t, buf+16, &children) != nil {
			t.SetReturn(-int64(unix.EFAULT))
		}
	})
}

// pidfdOpen runs natively (a pidfd of a local process is the kernel's)
// and remembers which PID the new fd refers to: once herd-init has reaped
// the kernel task, its fdinfo no longer says, but the child may still be
// a zombie for waitid(P_PIDFD). PIDs of herd-init's threads are refused.
func (k *Kernel) pidfdOpen(t *sentry.Task) sentry.Action {
	pid := int(int32(t.Arg(0)))
	if pid > 0 && pid <= herdInitMaxTID {
		return sentry.Errno(unix.ESRCH)
	}
	return sentry.NativeThen(func(t *sentry.Task, ret int64) {
		if ret >= 0 {
			k.rememberPidfd(caller(t), int(ret), pid)
		}
	})
}

// rememberPidfd records that process owner's fd is a pidfd of target.
func (k *Kernel) rememberPidfd(owner, fd, target int) {
	if k.pidfds[owner] == nil {
		k.pidfds[owner] = make(map[int]int)
	}
	k.pidfds[owner][fd] = target
}
