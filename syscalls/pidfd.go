package syscalls

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/procview"
)

// pidfdOpen runs natively (a pidfd of a local process is the kernel's)
// and remembers which PID the new fd refers to: once herd-init has reaped
// the kernel task, its fdinfo no longer says, but the child may still be
// a zombie for waitid(P_PIDFD). PIDs of herd-init's threads are refused.
func (k *Kernel) pidfdOpen(t task) action {
	pid := int(int32(t.Arg(0)))
	if pid > 0 && pid <= herdInitMaxTID {
		return fail(unix.ESRCH)
	}
	return nativeThen(func(t task, ret int64) {
		if ret >= 0 {
			k.rememberPidfd(t.TID(), caller(t), int(ret), pid)
		}
	})
}

// rememberPidfd records that fd of process owner (seen from its task
// tid) is a pidfd of target: by fd, and by the pidfd's inode, which every
// copy of it shares (dup, fork, SCM_RIGHTS), so a copy the process did
// not make itself, such as the one Go's os package dups from
// SysProcAttr.PidFD, is found too.
func (k *Kernel) rememberPidfd(tid, owner, fd, target int) {
	k.pidfds.remember(owner, fd, target)
	if ino, err := k.fdInode(tid, fd); err == nil {
		k.pidfdInodes.remember(ino, target)
	}
}

// rememberedPidfd is the target remembered for fd of t's process: by
// its inode first (right whatever the fd's number or history), then by
// number.
func (k *Kernel) rememberedPidfd(t task, fd int) (int, bool) {
	if ino, err := k.fdInode(t.TID(), fd); err == nil {
		if pid, ok := k.pidfdInodes[ino]; ok {
			return pid, true
		}
	}
	return k.pidfds.target(caller(t), fd)
}

// pidfdSendSignal(pidfd, sig, info, flags) runs natively: the kernel
// checks the flags, the fd, the siginfo and permission. Two corrections,
// as for kill (see nativeSignal):
//   - without a siginfo or flags, a signal to a live local process that
//     the kernel would discard were it not traced is not generated;
//   - the kernel's ESRCH for a process herd-init has reaped but which is
//     still a zombie of the process model, by the PID this process
//     opened the pidfd for, becomes the zombie's answer: 0 (nothing is
//     delivered), or EPERM or EINVAL as Linux's checks on it give.
func (k *Kernel) pidfdSendSignal(t task) action {
	fd, sig := int(int32(t.Arg(0))), int(int32(t.Arg(1)))
	pid, err := t.PidfdTarget(fd)
	reaped := err == unix.ECHILD
	if reaped {
		pid, reaped = k.rememberedPidfd(t, fd)
	}
	if (err == nil || reaped) && (k.placed(pid) || k.placing[pid]) {
		return k.signalPlaced(t, pid, sig)
	}
	if err == nil && sig > 0 && t.Arg(2) == 0 && t.Arg(3) == 0 && k.discardsFrom(t, pid, sig) {
		return ret(0)
	}
	return nativeThen(func(t task, r int64) {
		if r != -int64(unix.ESRCH) {
			return
		}
		if _, err := t.PidfdTarget(fd); err != unix.ECHILD {
			return // not a pidfd of a reaped process
		}
		pid, ok := k.rememberedPidfd(t, fd)
		if !ok || !k.zombie(pid) {
			return
		}
		_, err := k.procs.SignalTargets(caller(t), pid, sig)
		t.SetReturn(result(0, err).val)
	})
}

// placed reports whether pid, the process a pidfd names, left this node
// at an exec (its image here is gone or going): a process of this node
// has a record here, never a stub. The pidfd still names it, as on
// Linux, where an exec keeps the process.
func (k *Kernel) placed(pid int) bool {
	p, ok := k.procs.Lookup(pid)
	return ok && p.Stub && p.State != pidspace.Zombie
}

// signalPlaced is pidfd_send_signal to pid, placed on another node: the
// permission is decided here as for kill, and the signal goes there.
func (k *Kernel) signalPlaced(t task, pid, sig int) action {
	targets, err := k.procs.SignalTargets(caller(t), pid, sig)
	if err != nil {
		return fail(errno(err))
	}
	if sig != 0 {
		k.sendFrom(t, targets, sig)
	}
	return ret(0)
}

// discardsFrom reports whether sig sent by t to pid, a live process of
// this node that t may signal, would be discarded by the kernel.
func (k *Kernel) discardsFrom(t task, pid, sig int) bool {
	targets, err := k.procs.SignalTargets(caller(t), pid, sig)
	return err == nil && len(targets) == 1 && k.native(targets[0]) && k.discards(pid, sig)
}

// pidfdWaitTarget is the PID waitid(P_PIDFD, fd) of t waits for.
func (k *Kernel) pidfdWaitTarget(t task, fd int) (int, error) {
	pid, err := t.PidfdTarget(fd)
	if err == unix.ECHILD {
		// Gone from the kernel (herd-init reaps at once) but perhaps
		// a zombie in the process model: the PID this process opened
		// the pidfd for.
		if p, ok := k.rememberedPidfd(t, fd); ok {
			return p, nil
		}
	}
	return pid, err
}

// pidfds remembers the target of each pidfd a process made, by process
// and fd.
type pidfds map[int]map[int]int

// remember records that process owner's fd is a pidfd of target.
func (p pidfds) remember(owner, fd, target int) {
	if p[owner] == nil {
		p[owner] = make(map[int]int)
	}
	p[owner][fd] = target
}

func (p pidfds) target(owner, fd int) (int, bool) {
	pid, ok := p[owner][fd]
	return pid, ok
}

// forget drops owner's pidfds (it exited: its fd table is gone).
func (p pidfds) forget(owner int) { delete(p, owner) }

// pidfdInodes maps the inode of a pidfd (pidfs: one per process, never
// reused) to the PID it refers to, until that process is reaped.
type pidfdInodes map[uint64]int

func (p pidfdInodes) remember(ino uint64, target int) { p[ino] = target }

// reaped drops the inodes of pid, which no wait can find any more.
func (p pidfdInodes) reaped(pid int) {
	for ino, t := range p {
		if t == pid {
			delete(p, ino)
		}
	}
}

// errNoPidfs: pidfds have no inode of their own on this kernel.
var errNoPidfs = errors.New("pidfds share one anonymous inode (no pidfs)")

// pidfdInodeFunc is the fdInode of a Kernel: procview.FdInode where
// pidfds live on pidfs (Linux 6.9 and later), which gives each process
// its own inode. Before pidfs every pidfd is on the one anonymous inode,
// which names no process: remembering targets by it would answer with
// whichever pidfd was made last, so there pidfds are known by fd alone.
// Probed once, with a pidfd of herd-init itself.
func pidfdInodeFunc() func(tid, fd int) (uint64, error) {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err == nil {
		var st unix.Statfs_t
		err = unix.Fstatfs(fd, &st)
		unix.Close(fd)
		if err == nil && st.Type == unix.PID_FS_MAGIC {
			return procview.FdInode
		}
	}
	return func(int, int) (uint64, error) { return 0, errNoPidfs }
}

// pidfdTarget returns the PID a pidfd of task tid refers to, from the
// kernel's fdinfo. EBADF if fd is not open, EINVAL if it is no pidfd,
// ECHILD if the process is gone from the kernel.
func pidfdTarget(tid, fd int) (int, error) {
	if fd < 0 {
		return 0, unix.EINVAL // as kernel_waitid checks before the fd
	}
	pid, err := procview.ReadPidfdTarget(tid, fd)
	switch {
	case errors.Is(err, procview.ErrNotPidfd):
		return 0, unix.EINVAL
	case err != nil:
		return 0, unix.EBADF
	case pid <= 0:
		// -1: the process is gone from the kernel (reaped by herd-init);
		// POSIX-wise it may still be a zombie.
		return 0, unix.ECHILD
	}
	return pid, nil
}
