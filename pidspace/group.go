package pidspace

import "syscall"

// The methods in this file mirror system calls: their errors are bare
// syscall.Errno values, ready to be returned to the program.

// Setpgid is setpgid(pid, pgid) by caller, with Linux's rules: pid 0 means
// the caller, pgid 0 means pid. Errors:
//   - EINVAL: pgid < 0;
//   - ESRCH: pid is neither the caller nor a child of the caller;
//   - EPERM: the child is in another session; the target leads its
//     session; or pgid != pid and no group pgid exists in the caller's
//     session;
//   - EACCES: the child has exec'd;
//   - ErrElsewhere (not an Errno): the child is homed on another node,
//     whose Space must decide; the caller forwards the call.
func (s *Space) Setpgid(caller, pid, pgid int) error {
	s.mu.Lock()
	defer s.unlock()
	c := s.procs[caller]
	if c == nil || c.Stub {
		return syscall.ESRCH
	}
	if pid == 0 {
		pid = caller
	}
	if pgid == 0 {
		pgid = pid
	}
	if pgid < 0 {
		return syscall.EINVAL
	}
	p := s.procs[pid]
	if p == nil {
		return syscall.ESRCH
	}
	if p.Stub && p.PPID == caller {
		// A child homed elsewhere: its home decides.
		return ErrElsewhere
	}
	if p.PPID == caller && p != c {
		if p.SID != c.SID {
			return syscall.EPERM
		}
		if p.Execed {
			return syscall.EACCES
		}
	} else if p != c {
		return syscall.ESRCH
	}
	if p.SessionLeader() {
		return syscall.EPERM
	}
	if pgid != pid && s.groupSessionLocked(pgid) != c.SID {
		return syscall.EPERM
	}
	if p.PGID != pgid {
		s.joinLocked(p, pgid, p.SID)
	}
	return nil
}

// Setsid is setsid() by caller: it makes the caller the leader of a new
// session and of a new group, both numbered by its PID, and returns that
// number. EPERM if the caller already leads a process group, that is, if
// any process's PGID equals the caller's PID (a session leader always
// does). The caller drops its controlling terminal; terminals are the
// sentry's business.
func (s *Space) Setsid(caller int) (int, error) {
	s.mu.Lock()
	defer s.unlock()
	c := s.procs[caller]
	if c == nil || c.Stub {
		return 0, syscall.ESRCH
	}
	if c.SessionLeader() || len(s.groups[caller]) > 0 {
		return 0, syscall.EPERM
	}
	s.joinLocked(c, caller, caller)
	return caller, nil
}

// Getpgid returns pid's process group (getpgid). The caller substitutes its
// own PID for 0. ESRCH if pid has no record (zombies have one).
//
// A stub answers too: its home keeps its group and session up to date
// here (KinChanged), so a process asks about its parent or child on
// another node as about one here.
func (s *Space) Getpgid(pid int) (int, error) {
	return readKin(s, pid, func(p *proc) int { return p.PGID })
}

// Getsid returns pid's session (getsid). The caller substitutes its own PID
// for 0. ESRCH if pid has no record. Linux, unlike some systems, does not
// refuse with EPERM for a process of another session.
func (s *Space) Getsid(pid int) (int, error) {
	return readKin(s, pid, func(p *proc) int { return p.SID })
}

// readKin is read for a record or a stub.
func readKin[T any](s *Space, pid int, get func(p *proc) T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil {
		var zero T
		return zero, syscall.ESRCH
	}
	return get(p), nil
}
