package pidspace

import (
	"errors"
	"fmt"
	"math"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrWouldBlock is returned by Wait when children match the request but
// none has anything to report and WNOHANG is not set. The caller parks the
// waiter and calls Wait again when an Effects.Retry names the waiting
// process (or fails the call with EINTR when a signal arrives).
var ErrWouldBlock = errors.New("pidspace: wait would block")

const (
	wait4Options  = unix.WNOHANG | unix.WUNTRACED | unix.WCONTINUED | unix.WNOTHREAD | unix.WCLONE | unix.WALL
	waitidOptions = unix.WNOHANG | unix.WNOWAIT | unix.WEXITED | unix.WSTOPPED | unix.WCONTINUED | unix.WNOTHREAD | unix.WCLONE | unix.WALL
)

// WaitRequest is a wait4 or waitid call, as the program made it. Build it
// with Wait4 or Waitid.
type WaitRequest struct {
	waitid  bool
	idtype  int
	id      int
	options int
	only    func(pid int) bool
}

// Only narrows the request to the children for which keep is true. The
// sentry uses it for __WNOTHREAD: only the children the calling thread
// made (threads are the sentry's, not the Space's). keep runs under the
// Space's lock and must not call back into it.
func (r WaitRequest) Only(keep func(pid int) bool) WaitRequest {
	r.only = keep
	return r
}

// Wait4 is wait4(pid, &status, options, &rusage): pid > 0 that child, 0
// any child in the caller's group, -1 any child, < -1 any child in group
// -pid. Options are WNOHANG, WUNTRACED, WCONTINUED, __WCLONE, __WALL,
// __WNOTHREAD; WEXITED is implied and, like WNOWAIT, rejected if passed.
func Wait4(pid, options int) WaitRequest {
	return WaitRequest{id: pid, options: options}
}

// Waitid is waitid(idtype, id, &info, options): P_ALL, P_PID with id > 0,
// P_PGID with id >= 0 (0 = the caller's group). Options must include at
// least one of WEXITED, WSTOPPED, WCONTINUED. P_PIDFD is not accepted: the
// caller resolves the pidfd and passes P_PID.
func Waitid(idtype, id, options int) WaitRequest {
	return WaitRequest{waitid: true, idtype: idtype, id: id, options: options}
}

func (r WaitRequest) String() string {
	if r.waitid {
		return fmt.Sprintf("waitid(%d, %d, %#x)", r.idtype, r.id, r.options)
	}
	return fmt.Sprintf("wait4(%d, %#x)", r.id, r.options)
}

// WaitResult is what a wait reports about one child. PID 0 (and nothing
// else set) means WNOHANG found nothing ready.
type WaitResult struct {
	PID       int
	Status    WaitStatus // wait4's status word: exited code<<8, killed sig|0x80 if core, stopped sig<<8|0x7f, continued 0xffff
	Code      int        // waitid's si_code: CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED
	SigStatus int        // waitid's si_status: exit code or signal
	UID       uint32     // waitid's si_uid: the child's real uid
	// Rusage is wait4's rusage: the child's own usage plus its reaped
	// children's. For a stop or continue the child's own part is what the
	// Space knows (zero while it lives); fill it in if you measure it.
	Rusage Rusage
	// Reaped says the zombie was removed (not WNOWAIT). Its PID is freed
	// once nothing else refers to it and its kernel task is gone.
	Reaped bool
	// Remote is the ChildReaped event for the home of a reaped child
	// homed elsewhere; the caller sends it as Effects.Remote.
	Remote []PeerEvent
}

// selector is a decoded request: which children, and what to report.
type selector struct {
	only    func(int) bool
	all     bool // any child
	pid     int  // that child (PIDTYPE_PID)
	pgid    int  // children in that group (PIDTYPE_PGID), when pid == 0
	options int
}

func (s *Space) decodeLocked(caller *proc, r WaitRequest) (selector, error) {
	sel := selector{options: r.options, only: r.only}
	if !r.waitid {
		if r.options&^wait4Options != 0 {
			return sel, syscall.EINVAL
		}
		sel.options |= unix.WEXITED
		switch {
		case r.id == math.MinInt32:
			// The kernel refuses to negate INT_MIN.
			return sel, syscall.ESRCH
		case r.id < -1:
			sel.pgid = -r.id
		case r.id == -1:
			sel.all = true
		case r.id == 0:
			sel.pgid = caller.PGID
		default:
			sel.pid = r.id
		}
		return sel, nil
	}
	if r.options&^waitidOptions != 0 || r.options&(unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED) == 0 {
		return sel, syscall.EINVAL
	}
	switch r.idtype {
	case unix.P_ALL:
		sel.all = true
	case unix.P_PID:
		if r.id <= 0 {
			return sel, syscall.EINVAL
		}
		sel.pid = r.id
	case unix.P_PGID:
		if r.id < 0 {
			return sel, syscall.EINVAL
		}
		sel.pgid = r.id
		if r.id == 0 {
			sel.pgid = caller.PGID
		}
	default:
		return sel, syscall.EINVAL
	}
	return sel, nil
}

func (sel selector) matches(c *proc) bool {
	if sel.only != nil && !sel.only(c.PID) {
		return false
	}
	switch {
	case sel.all:
	case sel.pid != 0:
		if c.PID != sel.pid {
			return false
		}
	default:
		if c.PGID != sel.pgid {
			return false
		}
	}
	if sel.options&unix.WALL != 0 {
		return true
	}
	// A "clone child" reports with something other than SIGCHLD; __WCLONE
	// waits for those only, the default for the others only.
	clone := c.ExitSignal != int(syscall.SIGCHLD)
	return clone == (sel.options&unix.WCLONE != 0)
}

// Wait is wait4 or waitid by caller, as the kernel's do_wait: children are
// considered oldest first; the first with something to report wins: its
// exit (WEXITED; wait4 always), else an unreported stop (WUNTRACED or
// WSTOPPED), else an unreported continue (WCONTINUED). Reporting consumes
// the stop or continue, and reaps the zombie, unless WNOWAIT. Reaping adds
// the child's usage and its children's to the caller's ChildrenRusage.
// Children of all the caller's threads count (threads are not modelled;
// __WNOTHREAD is accepted, and a caller that knows which thread made
// which child narrows the request with Only).
//
// Results, as Linux:
//   - a report: the result and nil;
//   - nothing ready, WNOHANG: a zero result and nil;
//   - nothing ready: ErrWouldBlock (matching children exist);
//   - no matching child (a zombie matches only with WEXITED): ECHILD;
//   - bad options or idtype: EINVAL; wait4(INT_MIN): ESRCH;
//   - caller has no record: ESRCH.
func (s *Space) Wait(caller int, req WaitRequest) (WaitResult, error) {
	s.mu.Lock()
	defer s.unlock()
	p := s.procs[caller]
	if p == nil || p.Stub {
		return WaitResult{}, syscall.ESRCH
	}
	sel, err := s.decodeLocked(p, req)
	if err != nil {
		return WaitResult{}, err
	}
	wnowait := sel.options&unix.WNOWAIT != 0
	waitable := false
	for _, cpid := range p.children {
		c := s.procs[cpid]
		if !sel.matches(c) {
			continue
		}
		if c.State == Zombie {
			if sel.options&unix.WEXITED == 0 {
				// Linux: a zombie does not keep a stop/continue wait alive.
				continue
			}
			return s.reportExitLocked(p, c, !wnowait), nil
		}
		waitable = true
		if sel.options&unix.WSTOPPED != 0 && c.stopPending {
			if !wnowait {
				c.stopPending = false
			}
			return WaitResult{
				PID: c.PID, Status: stoppedStatus(c.StopSignal), Code: CLD_STOPPED,
				SigStatus: c.StopSignal, UID: c.Creds.RUID, Rusage: c.Usage.Add(c.ChildUsage),
			}, nil
		}
		if sel.options&unix.WCONTINUED != 0 && c.contPending {
			if !wnowait {
				c.contPending = false
			}
			return WaitResult{
				PID: c.PID, Status: continuedStatus, Code: CLD_CONTINUED,
				SigStatus: int(syscall.SIGCONT), UID: c.Creds.RUID, Rusage: c.Usage.Add(c.ChildUsage),
			}, nil
		}
	}
	switch {
	case !waitable:
		return WaitResult{}, syscall.ECHILD
	case sel.options&unix.WNOHANG != 0:
		return WaitResult{}, nil
	}
	return WaitResult{}, ErrWouldBlock
}

// reportExitLocked is what wait reports of zombie child c of p, reaping it
// if reap.
func (s *Space) reportExitLocked(p, c *proc, reap bool) WaitResult {
	code, status := exitCode(c.Status)
	res := WaitResult{
		PID: c.PID, Status: c.Status, Code: code, SigStatus: status,
		UID: c.Creds.RUID, Rusage: c.Usage.Add(c.ChildUsage),
	}
	if !reap {
		return res
	}
	p.ChildUsage = p.ChildUsage.Add(res.Rusage)
	s.removeLocked(c)
	res.Reaped = true
	if c.Stub && !c.lost {
		res.Remote = []PeerEvent{{To: c.Home, Kind: ChildReaped, PID: c.PID}}
	}
	return res
}
