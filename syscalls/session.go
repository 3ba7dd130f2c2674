package syscalls

import (
	"golang.org/x/sys/unix"
)

// setpgid is decided by the process model (the POSIX tree: "a child of
// the caller"); the kernel's own check would see herd-init as every
// parent. When the caller moves itself, the kernel's group is changed
// too, so the terminal's job control (which uses kernel groups) agrees.
func (k *Kernel) setpgid(t task) action {
	pid, pgid := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	self := caller(t)
	if err := k.procs.Setpgid(self, pid, pgid); err != nil {
		return fail(errno(err))
	}
	if pid == 0 {
		k.kinChanged(self)
	} else {
		k.kinChanged(pid)
	}
	if pid == 0 || pid == self {
		return nativeThen(func(t task, ret int64) {
			if ret != 0 {
				k.log.Debug("kernel setpgid disagrees with the process model", "pid", self, "pgid", pgid, "ret", ret)
				t.SetReturn(0)
			}
		})
	}
	if pgid == 0 {
		pgid = pid
	}
	return k.mirrorSetpgid(t, pid, pgid)
}

// mirrorSetpgid moves another process (a child that has not exec'd) to
// pgid in the kernel too: only the child can change its kernel group, so
// the call is injected into it, and the caller t waits for that, so that
// a tcsetpgrp it makes next finds the group in the kernel.
func (k *Kernel) mirrorSetpgid(t task, pid, pgid int) action {
	child := k.tasks.task(pid)
	if child == nil {
		return ret(0)
	}
	var parked task
	finished := false
	soon := child.Inject(unix.SYS_SETPGID, [6]uintptr{0, uintptr(pgid)}, func(ret int64) {
		if ret != 0 {
			k.log.Debug("mirror setpgid into the kernel", "pid", pid, "pgid", pgid, "ret", ret)
		}
		finished = true
		if parked != nil {
			parked.Wake(0)
		}
	})
	if !soon || finished {
		return ret(0)
	}
	parked = t
	return park(func() { parked = nil })
}

// setsid is decided by the process model, then runs natively so the
// terminal sees the new session.
func (k *Kernel) setsid(t task) action {
	sid, err := k.procs.Setsid(caller(t))
	if err != nil {
		return fail(errno(err))
	}
	k.kinChanged(sid)
	return nativeThen(func(t task, ret int64) {
		if ret < 0 {
			k.log.Debug("kernel setsid disagrees with the process model", "pid", sid, "ret", ret)
		}
		t.SetReturn(int64(sid))
	})
}

// getpgid(pid), 0 for the caller.
func (k *Kernel) getpgid(t task) action {
	return intResult(k.procs.Getpgid(pidOrSelf(t)))
}

func (k *Kernel) getpgrp(t task) action {
	return intResult(k.procs.Getpgid(caller(t)))
}

// getsid(pid), 0 for the caller.
func (k *Kernel) getsid(t task) action {
	return intResult(k.procs.Getsid(pidOrSelf(t)))
}

// pidOrSelf is argument 0 as a PID, the caller's for 0.
func pidOrSelf(t task) int {
	if pid := int(int32(t.Arg(0))); pid != 0 {
		return pid
	}
	return caller(t)
}

func intResult(v int, err error) action { return result(int64(v), err) }
