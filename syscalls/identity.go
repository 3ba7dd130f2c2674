package syscalls

import "herd/pidspace"

// getppid answers the POSIX parent from the process model: the kernel
// parent is always herd-init.
func (k *Kernel) getppid(t task) action {
	ppid, err := k.procs.Getppid(caller(t))
	if err != nil {
		return fail(errno(err))
	}
	return ret(int64(ppid))
}

// setid covers setuid, setgid, setreuid, setregid, setresuid and
// setresgid: they run natively (the kernel is the authority on
// credentials), then the process model learns the result, which decides
// who may signal whom and the si_uid children report.
func (k *Kernel) setid(task) action {
	return nativeThen(func(t task, ret int64) {
		if ret != 0 {
			return
		}
		if c, err := t.Creds(); err == nil {
			k.recordCreds(caller(t), c)
		}
	})
}

// recordCreds stores c as pid's credentials.
func (k *Kernel) recordCreds(pid int, c pidspace.Creds) {
	if err := k.procs.SetCreds(pid, c); err != nil {
		k.log.Debug("record creds", "pid", pid, "err", err)
		return
	}
	// Kin on other nodes decide permissions with these credentials.
	k.kinChanged(pid)
}
