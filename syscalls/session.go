package syscalls

import (
	"golang.org/x/sys/unix"

	"herd/sentry"
)

// setpgid is decided by pidspace (the POSIX tree: "a child of the
// caller"); the kernel's own check would see herd-init as every parent.
// When the caller moves itself, the kernel's group is changed too, so the
// terminal's job control (which uses kernel groups) agrees.
func (k *Kernel) setpgid(t *sentry.Task) sentry.Action {
	pid, pgid := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	self := caller(t)
	if err := k.space.Setpgid(self, pid, pgid); err != nil {
		return sentry.Errno(errno(err))
	}
	if pid == 0 || pid == self {
		return sentry.NativeThen(func(t *sentry.Task, ret int64) {
			if ret != 0 {
				k.log.Debug("kernel setpgid disagrees with pidspace", "pid", self, "pgid", pgid, "ret", ret)
				t.SetReturn(0)
			}
		})
	}
	// Another process (a child that has not exec'd): only the child can
	// change its kernel group, so the call is injected into it, and the
	// caller waits for that, so that a tcsetpgrp it makes next finds the
	// group in the kernel.
	if pgid == 0 {
		pgid = pid
	}
	child := k.s.Task(pid)
	if child == nil {
		return sentry.Return(0)
	}
	var parked *sentry.Task
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
		return sentry.Return(0)
	}
	parked = t
	return sentry.Park(func() { parked = nil })
}

func (k *Kernel) setsid(t *sentry.Task) sentry.Action {
	sid, err := k.space.Setsid(caller(t))
	if err != nil {
		return sentry.Errno(errno(err))
	}
	return sentry.NativeThen(func(t *sentry.Task, ret int64) {
		if ret < 0 {
			k.log.Debug("kernel setsid disagrees with pidspace", "pid", sid, "ret", ret)
		}
		t.SetReturn(int64(sid))
	})
}

func (k *Kernel) getpgid(t *sentry.Task) sentry.Action {
	pid := int(int32(t.Arg(0)))
	if pid == 0 {
		pid = caller(t)
	}
	return sentry.Result(intResult(k.space.Getpgid(pid)))
}

func (k *Kernel) getpgrp(t *sentry.Task) sentry.Action {
	return sentry.Result(intResult(k.space.Getpgid(caller(t))))
}

func (k *Kernel) getsid(t *sentry.Task) sentry.Action {
	pid := int(int32(t.Arg(0)))
	if pid == 0 {
		pid = caller(t)
	}
	return sentry.Result(intResult(k.space.Getsid(pid)))
}

func intResult(v int, err error) (int64, error) {
	if err != nil {
		return 0, errno(err)
	}
	return int64(v), nil
}
