package sentry

// Seccomp user notification: the rows of the table that only need an
// answer (Disp Notify) are answered without a ptrace stop. The filter
// returns SECCOMP_RET_USER_NOTIF for them; the shim installs it with
// SECCOMP_FILTER_FLAG_NEW_LISTENER and hands the listener back on its spec
// socket; a receiver goroutine per listener, on a locked OS thread, reads
// each notification, computes the row's Answer and sends it.
//
// What the kernel does to a notified call that a signal interrupts (see
// kernel/seccomp.c, seccomp_do_user_notification; checked on this machine
// by conformance/bench/probe/notifsignal.c and by the conformance tests):
//   - before the receiver has taken the notification (RECV), any signal
//     that makes the task pending ends the wait: the kernel drops the
//     notification and the call returns -ERESTARTSYS: EINTR to a handler
//     without SA_RESTART, a restart (a new notification) otherwise;
//   - once RECV took it, with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (which
//     herd sets) only a fatal signal ends the wait: the answer is delivered
//     and the handler runs after the call, as for a call Linux completes.
// Linux never fails getppid, getpgid or getsid with EINTR, so the first
// case is corrected at the signal-delivery stop every ptraced task makes
// (fixInterruptedNotif): -ERESTARTSYS in a notified call becomes
// -ERESTARTNOINTR, so the handler runs and the call is made again, as if
// the signal had come just before it. Without WAIT_KILLABLE_RECV an answer
// sent in the instant after the wait was interrupted could be lost after
// SEND succeeded; with it, an interrupted notification was never received,
// so herd answered nothing and committed nothing.
//
// TOCTOU: an Answer gets the call's registers as the kernel read them at
// the call, never its memory; no notified row reads a pointer argument.

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// A Call is a notified system call as its Answer sees it: the calling
// thread and the arguments the kernel passed in registers.
type Call struct {
	TID, TGID int
	Nr        uintptr
	Args      [6]uint64
}

// Arg returns argument i.
func (c *Call) Arg(i int) uintptr { return uintptr(c.Args[i]) }

// An Answer computes the result of a notified call: a value, or -errno.
// It runs on a receiver goroutine, not on the tracer thread, possibly
// while the tracer handles other tasks' stops, so it may only read state
// that is safe to share (the process model locks); it must not block.
type Answer func(c *Call) int64

// notifyEnv set to "off" (or "0") makes the sentry trap every row with
// ptrace, for comparison and as a way out; set to "hop", Answers run on
// the tracer thread (the receiver posts them and waits), to measure what
// that hop costs against answering on the receiver.
const notifyEnv = "HERD_USER_NOTIF"

// notifySupported reports whether this kernel has what exact answers
// need: SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6) and, with it,
// WAIT_KILLABLE_RECV (5.19) and the wake-up of RECV when the last user of
// a filter is gone.
func notifySupported() bool {
	if v := os.Getenv(notifyEnv); v == "off" || v == "0" {
		return false
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	major, minor := kernelVersion(unix.ByteSliceToString(u.Release[:]))
	return major > 6 || major == 6 && minor >= 6
}

// kernelVersion parses "6.18.0-foo" as 6, 18.
func kernelVersion(release string) (major, minor int) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	major, _ = strconv.Atoi(parts[0])
	end := strings.IndexFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(parts[1])
	}
	minor, _ = strconv.Atoi(parts[1][:end])
	return major, minor
}

// threadIDs maps each traced thread to its thread group, for the
// receivers (a notification names the thread only). The tracer thread
// writes it as it adopts and loses tasks.
type threadIDs struct {
	mu sync.RWMutex
	m  map[int]int
}

func (ids *threadIDs) set(tid, tgid int) {
	ids.mu.Lock()
	if ids.m == nil {
		ids.m = make(map[int]int)
	}
	ids.m[tid] = tgid
	ids.mu.Unlock()
}

func (ids *threadIDs) drop(tid int) {
	ids.mu.Lock()
	delete(ids.m, tid)
	ids.mu.Unlock()
}

// tgid is tid's thread group; a thread the tracer does not know (it
// cannot make a call before its first stop is handled) counts as its own.
func (s *Sentry) tgidOf(tid int) int {
	if g, ok := s.ThreadGroup(tid); ok {
		return g
	}
	return tid
}

// ThreadGroup is the thread group of traced thread tid, if known. Unlike
// the other methods of Sentry it may be called from any goroutine: an
// Answer uses it to name a thread's process.
func (s *Sentry) ThreadGroup(tid int) (int, bool) {
	s.threadIDs.mu.RLock()
	defer s.threadIDs.mu.RUnlock()
	g, ok := s.threadIDs.m[tid]
	return g, ok
}

// notifyAnswers are the Answers of the table's notified rows by number.
func notifyAnswers(tb *Table) map[uintptr]Answer {
	out := map[uintptr]Answer{}
	for _, r := range tb.Rows() {
		if r.Disp == Notify && r.Answer != nil {
			out[r.Nr] = r.Answer
		}
	}
	return out
}

// serveListener answers the notifications of one listener (one spawned
// program and its descendants) until no task uses its filter any more.
func (s *Sentry) serveListener(fd int) {
	// One thread, so that the sync wake-up hands the CPU straight to it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.receivers.Add(1)
	defer s.receivers.Add(-1)
	defer unix.Close(fd)
	flags := uintptr(linux.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags); e != 0 {
		s.log.Debug("seccomp listener: no sync wake-up", "err", e)
	}
	var n linux.SeccompNotif
	for {
		n = linux.SeccompNotif{} // RECV wants it zeroed
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n)))
		switch e {
		case 0:
			s.answerNotif(fd, &n)
		case unix.EINTR:
		case unix.ENOENT:
			// A notification interrupted before RECV took it, or no
			// task uses the filter any more (then poll says POLLHUP).
			if listenerOrphaned(fd) {
				return
			}
		default:
			s.log.Error("seccomp listener: receive", "err", e)
			return
		}
	}
}

// listenerOrphaned reports whether no task uses fd's filter any more.
func listenerOrphaned(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n == 1 && pfd[0].Revents&unix.POLLHUP != 0
}

// answerNotif computes and sends the answer to notification n. A SEND
// that fails with ENOENT is a task that died or was interrupted
// meanwhile: nothing was committed for it, and nothing waits.
func (s *Sentry) answerNotif(fd int, n *linux.SeccompNotif) {
	c := Call{TID: int(n.Pid), Nr: uintptr(n.Data.Nr), Args: n.Data.Args}
	c.TGID = s.tgidOf(c.TID)
	resp := linux.SeccompNotifResp{ID: n.ID}
	if h := s.answers[c.Nr]; h != nil {
		if v := s.runAnswer(h, &c); v < 0 {
			resp.Error = int32(v)
		} else {
			resp.Val = v
		}
	} else {
		resp.Error = -int32(unix.ENOSYS)
	}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	if e != 0 && e != unix.ENOENT {
		s.log.Warn("seccomp listener: send", "tid", c.TID, "nr", c.Nr, "err", e)
	}
}

// runAnswer runs h for c, on the receiver, or on the tracer thread when
// the sentry is set to hop there (notifyEnv).
func (s *Sentry) runAnswer(h Answer, c *Call) int64 {
	if !s.hop {
		return h(c)
	}
	done := make(chan int64, 1)
	s.Post(func() { done <- h(c) })
	return <-done
}

// takeListener reads the listener the shim sends on its spec socket once
// it installed the filter (the sentry's writing half is shut down first,
// so the shim reads its spec to the end) and serves it.
func (s *Sentry) takeListener(conn *os.File) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return
	}
	var fds []int
	var rerr error
	raw.Control(func(sock uintptr) {
		unix.Shutdown(int(sock), unix.SHUT_WR)
		oob := make([]byte, unix.CmsgSpace(4))
		var b [1]byte
		_, oobn, _, _, err := unix.Recvmsg(int(sock), b[:], oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			rerr = err
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			rerr = errors.New("no listener in the shim's message")
			return
		}
		fds, rerr = unix.ParseUnixRights(&msgs[0])
	})
	if rerr != nil || len(fds) != 1 {
		// The shim failed before its filter: it exits.
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	go s.serveListener(fds[0])
}

// fixInterruptedNotif corrects, at a signal-delivery stop of a running
// task, a notified call that the signal interrupted before the receiver
// took it: the kernel left -ERESTARTSYS, which a handler without
// SA_RESTART would turn into EINTR, which Linux never gives for these
// calls; -ERESTARTNOINTR runs the handler and makes the call again.
func (s *Sentry) fixInterruptedNotif(t *Task) {
	if len(s.answers) == 0 || t.state != stateRunning {
		return
	}
	r := t.Regs()
	if retOf(r) != -int64(ERESTARTSYS) || s.answers[uintptr(sysnoOf(r))] == nil {
		return
	}
	setRet(r, -int64(ERESTARTNOINTR))
	t.MarkRegsDirty()
}
