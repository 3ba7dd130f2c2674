package pidspace

import (
	"maps"
	"math"
	"slices"
	"syscall"
)

// SignalTargets resolves kill(pid, sig) sent by sender, with Linux's
// kill_something_info and check_kill_permission rules, and returns the
// processes to deliver sig to. It delivers nothing itself.
//
// pid > 0 is that process; 0 the sender's process group; -1 every process
// except InitPID, the sender and Virtual records; < -1 the group -pid.
// Virtual records (launchers) are reached only by their own PID: the
// returned Target has Virtual set and the caller decides what delivery
// means. Zombies are valid targets that receive nothing, so they are left
// out of the result: a nil slice with a nil error means "success, nothing
// to deliver". With sig 0 (the existence and permission probe) the result
// is always nil; only the error matters.
//
// A sender may signal a target if it is the target, has euid 0, or its
// real or effective uid equals the target's real or saved uid; SIGCONT
// may also go to any process of the sender's session. Errors, as the
// kernel computes them (the signal number is checked per target, after the
// lookup):
//   - ESRCH: no process matches (or pid is INT_MIN, or sender is unknown);
//   - EINVAL: sig is outside 0..64 and some process matches;
//   - EPERM: pid > 0, or a group in which no member may be signalled.
//     kill(-1) never fails with EPERM: Linux returns success when there
//     were candidates, even if none could be signalled (nothing is
//     delivered then).
func (s *Space) SignalTargets(sender, pid, sig int) ([]Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.procs[sender]
	if from == nil {
		return nil, syscall.ESRCH
	}
	var out []Target
	deliver := func(t *proc) {
		if sig != 0 && t.State != Zombie {
			out = append(out, t.target())
		}
	}
	switch {
	case pid > 0:
		t := s.procs[pid]
		if t == nil {
			return nil, syscall.ESRCH
		}
		if err := mayKill(from, t, sig); err != nil {
			return nil, err
		}
		deliver(t)
		return out, nil
	case pid == math.MinInt32:
		return nil, syscall.ESRCH
	case pid == -1:
		count := 0
		var ret error
		for _, tpid := range slices.Sorted(maps.Keys(s.procs)) {
			t := s.procs[tpid]
			if tpid <= InitPID || t == from || t.Virtual {
				continue
			}
			count++
			err := mayKill(from, t, sig)
			if err != syscall.EPERM {
				ret = err
			}
			if err == nil {
				deliver(t)
			}
		}
		if count == 0 {
			return nil, syscall.ESRCH
		}
		if ret != nil {
			return nil, ret
		}
		return out, nil
	default:
		pgid := -pid
		if pid == 0 {
			pgid = from.PGID
		}
		// Like __kill_pgrp_info: success once any member may be signalled,
		// else the last member's error, else ESRCH for an empty group.
		var ret error = syscall.ESRCH
		for _, tpid := range s.groupPIDsLocked(pgid) {
			t := s.procs[tpid]
			if t.Virtual {
				continue
			}
			err := mayKill(from, t, sig)
			if ret != nil {
				ret = err
			}
			if err == nil {
				deliver(t)
			}
		}
		if ret != nil {
			return nil, ret
		}
		return out, nil
	}
}

// mayKill is the kernel's check_kill_permission for a signal from userspace.
func mayKill(from, to *proc, sig int) error {
	if !validSignal(sig) {
		return syscall.EINVAL
	}
	if from == to {
		return nil
	}
	f, t := from.Creds, to.Creds
	if f.EUID == 0 || f.EUID == t.SUID || f.EUID == t.RUID || f.RUID == t.SUID || f.RUID == t.RUID {
		return nil
	}
	if sig == int(syscall.SIGCONT) && from.SID == to.SID {
		return nil
	}
	return syscall.EPERM
}
