package sentry

// Group-stops and signal-delivery stops: job control as POSIX has it,
// and the siginfo of signals herd-init sends on a process's behalf.

import (
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
	if sig == int(unix.SIGCONT) {
		if p := s.procs[t.TGID]; p != nil && p.stopped {
			p.stopped, p.stopAs = false, 0
			s.cfg.Hooks.Continued(t.TGID)
		}
	}
	var si SigInfo
	if err := ptraceGetSigInfo(t.TID, &si); err == nil && si.Code() == linux.SI_USER && si.Pid() == 1 {
		if p := s.procs[t.TGID]; p != nil {
			if q := p.injected[sig]; len(q) > 0 {
				si = q[0]
				p.injected[sig] = q[1:]
				_ = ptraceSetSigInfo(t.TID, &si)
			}
		}
	}
	if isJobStop(sig) && defaultAction(t.TID, sig) {
		sig = s.jobStop(t, sig)
	}
	s.resume(t, sig)
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

// defaultAction reports whether tid's process has sig at SIG_DFL, from
// the SigIgn and SigCgt masks of /proc/tid/status.
func defaultAction(tid, sig int) bool {
	st, err := procview.ReadStatus(tid)
	return err == nil && st.Default(sig)
}

// Signal sends sig to the thread group tgid from herd-init, and makes it
// arrive with info: the kernel would say it came from pid 1, so the
// sentry rewrites it at the signal-delivery stop. A standard signal
// already pending from herd-init coalesces, as in the kernel.
func (s *Sentry) Signal(tgid, sig int, info *SigInfo) error {
	p := s.procs[tgid]
	if p == nil || p.threads == 0 {
		// Not a traced process (gone, or never ours): no kill from
		// herd-init, and no bookkeeping left behind for it.
		return fmt.Errorf("signal %d to %d: %w", sig, tgid, unix.ESRCH)
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
