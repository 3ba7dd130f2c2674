package sentry

// Group-stops and signal-delivery stops: job control as POSIX has it,
// and the siginfo of signals herd-init sends on a process's behalf.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"herd/procview"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// groupStop keeps a task in a group-stop stopped, but lets SIGCONT
// wake it (PTRACE_LISTEN).
func (s *Sentry) groupStop(t *Task, sig int) {
	p := s.procOf(t.TGID)
	if sig == int(unix.SIGSTOP) && p.stopAs != 0 {
		sig = p.stopAs // a job-control stop the sentry made a SIGSTOP
	}
	t.state = stateGroupStop
	// A stopped task reaches no syscall entry until it is continued,
	// perhaps by the very task waiting for its injection: give them up.
	for _, inj := range t.injections {
		inj.done(-int64(unix.EAGAIN))
	}
	t.injections = nil
	if !p.stopped {
		p.stopped = true
		s.cfg.Hooks.Stopped(t.TGID, sig)
	}
	if err := ptraceListen(t.TID); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("ptrace listen", "task", t, "err", err)
	}
}

func (s *Sentry) signalStop(t *Task, sig int) {
	s.log.Debug("signal stop", "task", t, "sig", sig)
	p := s.procs[t.TGID]
	if sig == int(unix.SIGCONT) && p != nil && p.stopped {
		p.stopped, p.stopAs = false, 0
		s.cfg.Hooks.Continued(t.TGID)
	}
	// The siginfo is read only when one of herd-init's own signals
	// waits for it: most deliveries (the kernel's, other processes')
	// cost no ptrace call here.
	if q := p.injectedFor(sig); len(q) > 0 {
		var si SigInfo
		if err := ptraceGetSigInfo(t.TID, &si); err == nil && si.Code() == linux.SI_USER && si.Pid() == 1 {
			p.injected[sig] = q[1:]
			_ = ptraceSetSigInfo(t.TID, &q[0])
		}
	}
	if isJobStop(sig) && t.defaultAction(sig) {
		sig = s.jobStop(t, sig)
	}
	s.fixInterruptedNotif(t) // notify.go
	s.resume(t, sig)
}

// injectedFor is the siginfo queued for herd-init's own signals sig to
// p (nil p: none).
func (p *proc) injectedFor(sig int) []SigInfo {
	if p == nil {
		return nil
	}
	return p.injected[sig]
}

// isJobStop reports the stop signals the kernel discards for an orphaned
// process group.
func isJobStop(sig int) bool {
	return sig == int(unix.SIGTSTP) || sig == int(unix.SIGTTIN) || sig == int(unix.SIGTTOU)
}

// jobStop decides a SIGTSTP, SIGTTIN or SIGTTOU about to take its default
// action. The kernel discards them for an orphaned process group, and in
// the flat kernel tree every group whose session herd-init is not in looks
// orphaned (herd-init is every parent). So the POSIX answer, from the
// Hooks, is carried out here: a stop becomes SIGSTOP for the kernel (which
// it never discards), reported to the parent as the real signal; a
// discard delivers nothing.
func (s *Sentry) jobStop(t *Task, sig int) int {
	if !s.cfg.Hooks.JobStops(t.TGID) {
		return 0
	}
	s.procOf(t.TGID).stopAs = sig
	return int(unix.SIGSTOP)
}

// defaultAction reports whether t's process has sig at SIG_DFL, from
// the SigIgn and SigCgt masks of /proc/tid/status.
func (t *Task) defaultAction(sig int) bool {
	st, err := t.status()
	return err == nil && st.Default(sig)
}

// status reads t's /proc status into its sentry's scratch record, so the
// signal checks on the tracer thread allocate only the task's name. The
// record is the tracer thread's and is valid until its next read.
func (t *Task) status() (*procview.Status, error) {
	if t.s == nil {
		return procview.ReadStatus(t.TID)
	}
	return &t.s.status, procview.Proc.ReadStatusInto(t.TID, &t.s.status)
}

// Discards reports whether the kernel would discard sig sent to this
// task when it is generated, were the task not traced: the kernel's
// sig_ignored() skips its ignore test for a traced task, so an ignored
// signal is queued, wakes the task and ends a call that is not
// restarted (epoll_wait, sigtimedwait) with EINTR. Whoever is about to
// make the kernel generate sig for this task asks first, and generates
// nothing when the answer is yes. The task is the one the kernel tests:
// the thread-group leader for a process-directed signal, the thread for
// a thread-directed one.
//
// The answer is yes when sig is ignored (SIG_IGN, or SIG_DFL of SIGCHLD,
// SIGURG or SIGWINCH) and not blocked, a task asleep in rt_sigtimedwait
// for it counting as blocking it. Never for signal 0, SIGKILL, SIGSTOP,
// nor SIGCONT (its side effect, continuing a stopped group, happens
// before the kernel's ignore test). When /proc cannot say, the answer is
// no: the signal is sent as it would be without the check.
func (t *Task) Discards(sig int) bool {
	switch unix.Signal(sig) {
	case 0, unix.SIGKILL, unix.SIGSTOP, unix.SIGCONT:
		return false
	}
	st, err := t.status()
	if err != nil || st.Blocked(sig) {
		return false
	}
	if !st.Ignored(sig) && !(st.Default(sig) && ignoredByDefault(sig)) {
		return false
	}
	return !t.waitsFor(sig)
}

// ignoredByDefault reports the signals whose default action is to be
// ignored (the kernel's sig_kernel_ignore, less SIGCONT).
func ignoredByDefault(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return true
	}
	return false
}

// waitsFor reports whether the task sleeps in rt_sigtimedwait with sig
// in its set (or may: an unreadable set counts). The kernel keeps the
// mask from before the call in real_blocked, which sig_ignored tests
// too, and /proc does not show; a waited-for signal is taken as blocked
// before the call, as the usual "block, then sigtimedwait" pattern has it.
func (t *Task) waitsFor(sig int) bool {
	sc, err := procview.ReadSyscall(t.TID)
	if err != nil || sc.Nr != unix.SYS_RT_SIGTIMEDWAIT {
		return false
	}
	var set [8]byte
	if err := t.ReadMem(uintptr(sc.Args[0]), set[:]); err != nil {
		return true
	}
	return binary.NativeEndian.Uint64(set[:])&(1<<(sig-1)) != 0
}

// Signal sends sig to the thread group tgid from herd-init, and makes it
// arrive with info: the kernel would say it came from pid 1, so the
// sentry rewrites it at the signal-delivery stop. A standard signal
// already pending from herd-init coalesces, as in the kernel. A signal
// the kernel would discard (see Task.Discards; the leader's view) is not
// sent at all, so a SIGCHLD at SIG_DFL never interrupts the parent.
func (s *Sentry) Signal(tgid, sig int, info *SigInfo) error {
	p := s.procs[tgid]
	if p == nil || p.threads == 0 || p.departed {
		// Not a traced process (gone, never ours, or gone on to
		// another node): no kill from herd-init, and no bookkeeping
		// left behind for it.
		return fmt.Errorf("signal %d to %d: %w", sig, tgid, unix.ESRCH)
	}
	if leader := s.tasks[tgid]; leader != nil && leader.Discards(sig) {
		s.log.Debug("discard ignored signal", "pid", tgid, "sig", sig)
		return nil
	}
	if p.injected == nil {
		p.injected = make(map[int][]SigInfo)
	}
	if sig < linux.FirstRTSignal && len(p.injected[sig]) > 0 {
		return nil
	}
	if info != nil {
		p.injected[sig] = append(p.injected[sig], *info)
	}
	s.log.Debug("inject signal", "pid", tgid, "sig", sig)
	if err := unix.Kill(tgid, unix.Signal(sig)); err != nil {
		if info != nil {
			q := p.injected[sig]
			p.injected[sig] = q[:len(q)-1]
		}
		return fmt.Errorf("signal %d to %d: %w", sig, tgid, err)
	}
	return nil
}

// TakeInjected hands over the siginfo of one of herd-init's own signals
// sig to t's process that a call took without a signal-delivery stop
// (rt_sigtimedwait of a blocked signal dequeues it directly), so the
// caller can write it where the call wrote the kernel's: got is what the
// kernel gave (herd-init's SI_USER from PID 1 when it is ours), nil if
// the call asked for none. Tracer thread.
func (t *Task) TakeInjected(sig int, got *SigInfo) (SigInfo, bool) {
	p := t.s.procs[t.TGID]
	q := p.injectedFor(sig)
	if len(q) == 0 || got != nil && (got.Code() != linux.SI_USER || got.Pid() != 1) {
		return SigInfo{}, false
	}
	p.injected[sig] = q[1:]
	return q[0], true
}
