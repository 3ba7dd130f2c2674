package syscalls

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/sentry"
)

const (
	statusAddr = memBase + 0x100
	ruAddr     = memBase + 0x200
	infoAddr   = memBase + 0x400
)

func TestWait4Errors(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	wantErrno(t, "no children", call(r.k.wait4, p, unix.SYS_WAIT4, uintptr(^uint(0)), statusAddr, 0, 0), unix.ECHILD)
	r.fork(5000, 5001)
	wantErrno(t, "bad options", call(r.k.wait4, p, unix.SYS_WAIT4, uintptr(^uint(0)), statusAddr, 0x80000000>>4, 0), unix.EINVAL)
	wantErrno(t, "not a child", call(r.k.wait4, p, unix.SYS_WAIT4, 4999, statusAddr, 0, 0), unix.ECHILD)
	wantReturn(t, "WNOHANG, child running", call(r.k.wait4, p, unix.SYS_WAIT4, 5001, statusAddr, unix.WNOHANG, 0), 0)
}

func TestWait4ParksAndReapsAZombie(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.k.creators.set(5001, 5000)
	a := call(r.k.wait4, p, unix.SYS_WAIT4, uintptr(^uint(0)), statusAddr, 0, ruAddr)
	if a.kind != actPark {
		t.Fatalf("wait with a running child: got %s, want park", a)
	}
	ru := unix.Rusage{Utime: unix.NsecToTimeval(int64(3 * time.Second))}
	r.exit(5001, unix.WaitStatus(7<<8), &ru)
	if len(p.woken) != 1 || p.woken[0] != 5001 {
		t.Fatalf("parked wait woken with %v, want [5001]", p.woken)
	}
	if got := unix.WaitStatus(p.u32(statusAddr)); !got.Exited() || got.ExitStatus() != 7 {
		t.Errorf("status %#x, want exited 7", uint32(got))
	}
	if got := p.u64(ruAddr); got != 3 { // ru_utime.tv_sec
		t.Errorf("rusage utime %d s, want 3", got)
	}
	if _, ok := r.k.creators.of[5001]; ok {
		t.Error("reaped child still has a creator")
	}
	if len(r.k.waiters) != 0 {
		t.Errorf("waiters left: %v", r.k.waiters)
	}
	// The parent heard of it through the Signaller, with the child's
	// siginfo.
	if len(r.sig.sent) != 1 || r.sig.sent[0].target.PID != 5000 || r.sig.sent[0].sig != int(unix.SIGCHLD) {
		t.Fatalf("signals sent %+v, want SIGCHLD to 5000", r.sig.sent)
	}
	wantErrno(t, "reaped", call(r.k.wait4, p, unix.SYS_WAIT4, 5001, statusAddr, unix.WNOHANG, 0), unix.ECHILD)
}

func TestWait4CancelledParkForgetsTheWaiter(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	a := call(r.k.wait4, p, unix.SYS_WAIT4, 5001, 0, 0, 0)
	if a.kind != actPark {
		t.Fatalf("got %s, want park", a)
	}
	a.cancel() // a signal interrupted it
	r.exit(5001, 0, nil)
	if len(p.woken) != 0 || len(r.k.waiters) != 0 {
		t.Fatalf("cancelled wait woken %v, waiters %v", p.woken, r.k.waiters)
	}
}

func TestWait4BadPointer(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.exit(5001, 0, nil)
	wantErrno(t, "bad status", call(r.k.wait4, p, unix.SYS_WAIT4, 5001, badAddr, 0, 0), unix.EFAULT)
	r.fork(5000, 5002)
	r.exit(5002, 0, nil)
	wantErrno(t, "bad rusage", call(r.k.wait4, p, unix.SYS_WAIT4, 5002, 0, 0, badAddr), unix.EFAULT)
}

func TestWaitidResultsAndErrors(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	for i := range p.mem {
		p.mem[i] = 0xff
	}
	wantErrno(t, "no WEXITED/WSTOPPED", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_ALL, 0, infoAddr, unix.WNOHANG, 0), unix.EINVAL)
	if si := p.u32(infoAddr); si != 0 {
		t.Errorf("siginfo not zeroed on error: signo %#x", si)
	}
	wantErrno(t, "bad idtype", call(r.k.waitid, p, unix.SYS_WAITID, 99, 0, infoAddr, unix.WEXITED, 0), unix.EINVAL)
	wantErrno(t, "bad siginfo", call(r.k.waitid, p, unix.SYS_WAITID, 99, 0, badAddr, unix.WEXITED, 0), unix.EFAULT)
	wantReturn(t, "WNOHANG", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_PID, 5001, infoAddr, unix.WEXITED|unix.WNOHANG, 0), 0)

	r.exit(5001, unix.WaitStatus(unix.SIGKILL), nil)
	wantReturn(t, "zombie", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_ALL, 0, infoAddr, unix.WEXITED, ruAddr), 0)
	want := sentry.NewChildSigInfo(5001, 1000, linux.CLD_KILLED, int(unix.SIGKILL))
	var got sentry.SigInfo
	copy(got[:], p.mem[infoAddr-memBase:])
	if got != want {
		t.Errorf("siginfo %v, want %v", got[:24], want[:24])
	}
}

func TestWaitidPidfd(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.fork(5000, 5002)
	p.pidfd = map[int]int{3: 5001}
	p.pidfdErr = map[int]error{4: unix.ECHILD}
	wantErrno(t, "not open", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_PIDFD, 9, 0, unix.WEXITED, 0), unix.EBADF)
	wantErrno(t, "gone, unknown", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_PIDFD, 4, 0, unix.WEXITED, 0), unix.ECHILD)
	r.exit(5001, 0, nil)
	r.exit(5002, 0, nil)
	wantReturn(t, "pidfd 3", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_PIDFD, 3, infoAddr, unix.WEXITED, 0), 0)
	if pid := p.u32(infoAddr + 16); pid != 5001 { // si_pid
		t.Errorf("waited for %d, want 5001", pid)
	}
	// Gone from the kernel: the remembered target still names the zombie.
	r.k.pidfds.remember(5000, 4, 5002)
	wantReturn(t, "remembered pidfd 4", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_PIDFD, 4, infoAddr, unix.WEXITED, 0), 0)
	if pid := p.u32(infoAddr + 16); pid != 5002 {
		t.Errorf("waited for %d, want 5002", pid)
	}
}

// __WNOTHREAD waits only for the calling thread's children.
func TestWait4NoThread(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	r.k.creators.set(5001, 5000)
	thread := &fakeTask{tid: 5003, tgid: 5000}
	wantErrno(t, "another thread's child", call(r.k.wait4, thread, unix.SYS_WAIT4, 5001, 0, unix.WNOHANG|unix.WNOTHREAD, 0), unix.ECHILD)
	wantReturn(t, "own child", call(r.k.wait4, p, unix.SYS_WAIT4, 5001, 0, unix.WNOHANG|unix.WNOTHREAD, 0), 0)
}

// A copy of a pidfd (dup'ed, as Go's os package dups SysProcAttr.PidFD,
// or inherited) is known by its inode, which every copy shares, once the
// kernel task is gone; an inode of a reaped process is forgotten.
func TestWaitidPidfdCopy(t *testing.T) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	inodes := map[[2]int]uint64{{5000, 3}: 77, {5000, 8}: 77}
	r.k.fdInode = func(tid, fd int) (uint64, error) {
		if ino, ok := inodes[[2]int{tid, fd}]; ok {
			return ino, nil
		}
		return 0, unix.ENOENT
	}
	r.k.rememberPidfd(5000, 5000, 3, 5001) // as clone(CLONE_PIDFD) made it
	r.exit(5001, 0, nil)
	p.pidfdErr = map[int]error{8: unix.ECHILD} // the dup: the kernel task is gone
	wantReturn(t, "dup'ed pidfd 8", call(r.k.waitid, p, unix.SYS_WAITID, unix.P_PIDFD, 8, infoAddr, unix.WEXITED, 0), 0)
	if pid := p.u32(infoAddr + 16); pid != 5001 {
		t.Errorf("waited for %d, want 5001", pid)
	}
	if _, ok := r.k.pidfdInodes[77]; ok {
		t.Error("the inode of a reaped process is still remembered")
	}
}

// An inode the kernel remembers pidfds by names one process: pidfds of
// two processes have two (pidfs), or none is used at all (before pidfs
// every pidfd is on the one anonymous inode).
func TestPidfdInodesNameOneProcess(t *testing.T) {
	fdInode := pidfdInodeFunc()
	var inodes []uint64
	for _, pid := range []int{os.Getpid(), os.Getppid()} {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Skipf("pidfd_open(%d): %v", pid, err)
		}
		defer unix.Close(fd)
		ino, err := fdInode(os.Getpid(), fd)
		if errors.Is(err, errNoPidfs) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		inodes = append(inodes, ino)
	}
	if inodes[0] == inodes[1] {
		t.Errorf("pidfds of two processes share inode %d", inodes[0])
	}
}
