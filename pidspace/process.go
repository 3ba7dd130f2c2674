package pidspace

import (
	"fmt"
	"syscall"
	"time"
)

// si_code values of SIGCHLD (asm-generic/siginfo.h). x/sys/unix does not
// export them.
const (
	CLD_EXITED    = 1 // child exited; status is the exit code
	CLD_KILLED    = 2 // child killed by a signal; status is the signal
	CLD_DUMPED    = 3 // child killed by a signal and dumped core
	CLD_TRAPPED   = 4 // traced child trapped (not produced here)
	CLD_STOPPED   = 5 // child stopped; status is the stop signal
	CLD_CONTINUED = 6 // stopped child continued; status is SIGCONT
)

// maxSignal is _NSIG: signals are 1..64, 0 is the existence probe.
const maxSignal = 64

func validSignal(sig int) bool { return sig >= 0 && sig <= maxSignal }

// State is the state of a process as its parent can observe it.
type State int

const (
	Running State = iota // runnable or sleeping: not stopped, not dead
	Stopped              // stopped by a job-control signal
	Zombie               // exited, not yet reaped
)

func (s State) String() string {
	switch s {
	case Running:
		return "R"
	case Stopped:
		return "T"
	case Zombie:
		return "Z"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Creds are the process credentials that decide who may signal whom.
type Creds struct {
	RUID, EUID, SUID uint32
	RGID, EGID, SGID uint32
}

// Rusage is the part of struct rusage herd accounts. Times and counters
// add up; Maxrss (KiB) is a maximum, as in the kernel.
type Rusage struct {
	Utime, Stime   time.Duration
	Maxrss         int64
	Minflt, Majflt int64
	Inblock        int64
	Oublock        int64
	Nvcsw, Nivcsw  int64
}

// Add returns the usage of r and o together, as the kernel accumulates a
// reaped child into its parent's children usage.
func (r Rusage) Add(o Rusage) Rusage {
	r.Utime += o.Utime
	r.Stime += o.Stime
	r.Maxrss = max(r.Maxrss, o.Maxrss)
	r.Minflt += o.Minflt
	r.Majflt += o.Majflt
	r.Inblock += o.Inblock
	r.Oublock += o.Oublock
	r.Nvcsw += o.Nvcsw
	r.Nivcsw += o.Nivcsw
	return r
}

// SigchldAction is what a process, as a parent, asked for SIGCHLD
// (rt_sigaction). It decides auto-reaping and stop notifications.
type SigchldAction struct {
	Ignored   bool // handler is SIG_IGN: children are auto-reaped, no SIGCHLD on exit
	NoCldStop bool // SA_NOCLDSTOP: no SIGCHLD when a child stops or continues
	NoCldWait bool // SA_NOCLDWAIT: children are auto-reaped, SIGCHLD is still sent
}

// WaitStatus is the wait4 status word. It is syscall.WaitStatus, so the
// sentry can pass what herd-init's wait4 returned, and its methods
// (Exited, ExitStatus, Signaled, Signal, CoreDump, ...) apply.
type WaitStatus = syscall.WaitStatus

// ExitedStatus is the status word of a process that called exit(code).
func ExitedStatus(code int) WaitStatus { return WaitStatus((code & 0xff) << 8) }

// KilledStatus is the status word of a process killed by sig, with the
// core-dump bit if core.
func KilledStatus(sig syscall.Signal, core bool) WaitStatus {
	w := WaitStatus(sig & 0x7f)
	if core {
		w |= 0x80
	}
	return w
}

func stoppedStatus(sig int) WaitStatus { return WaitStatus(sig<<8 | 0x7f) }

const continuedStatus WaitStatus = 0xffff

// exitCode splits an exit status into waitid's si_code and si_status,
// as the kernel's wait_task_zombie and do_notify_parent do.
func exitCode(w WaitStatus) (code, status int) {
	switch {
	case w&0x7f == 0:
		return CLD_EXITED, int(w>>8) & 0xff
	case w&0x80 != 0:
		return CLD_DUMPED, int(w & 0x7f)
	default:
		return CLD_KILLED, int(w & 0x7f)
	}
}

// Process is a snapshot of a process record. Threads are not modelled:
// one record stands for a thread group.
type Process struct {
	PID, PPID, PGID, SID int
	Creds                Creds
	// Home is the node holding the record: per-process state (wait
	// bookkeeping, dispositions, usage) lives there. It is where the
	// process was created, or where it was placed since: the record moves
	// with the process (Space.Export, Space.Import), so Home == Node for
	// every record that is not a stub. Records a Space creates are homed
	// at its node. The PID's lease holder (the node whose Raft lease block
	// it came from) may be another node: it only lent the PID.
	Home string
	// Node is the node the process runs on: where its kernel task is and
	// where signals to it are delivered. Home == Node but for a child
	// forked with ForkFrom (a process running away from its record, which
	// moving records make obsolete) and after SetNode.
	Node string
	// Stub marks a record of a process homed on another node, kept here
	// only because a record homed here is its parent or child. A stub
	// holds what local decisions need (PGID, SID, credentials, exit
	// signal, and for a child stub what wait reports); its home tells this
	// Space about changes through PeerEvents. Stubs are never signalled,
	// exited or changed by the local methods, and List leaves them out.
	Stub      bool
	Comm      string // command name (as /proc/pid/comm)
	Args      string // command line, for ps
	State     State
	Execed    bool // has called execve since fork (setpgid's EACCES)
	Subreaper bool // PR_SET_CHILD_SUBREAPER
	Pdeathsig int  // PR_SET_PDEATHSIG; 0 = none
	// ExitSignal is the signal sent to the parent on exit: SIGCHLD, another
	// signal for clone children (waited for with __WCLONE), or 0 for none.
	ExitSignal int
	Sigchld    SigchldAction // this process's SIGCHLD disposition, as a parent
	// Virtual marks a record without a kernel process: the herd run
	// launcher, standing for the user's shell.
	Virtual    bool
	StartTime  time.Time
	Status     WaitStatus // exit status; valid when State == Zombie
	StopSignal int        // valid when State == Stopped
	Usage      Rusage     // own usage, as reported at exit; zero while alive
	ChildUsage Rusage     // usage of reaped children and their reaped children
}

// SessionLeader reports whether p leads its session. A session's id is the
// PID of the process that created it, and that number is not reused while
// the session lives, so sid == pid is exact.
func (p Process) SessionLeader() bool { return p.SID == p.PID }

// Target is a process an effect or a signal is aimed at, with what the
// caller needs to route it. A deliverer sends a signal to Node, where the
// process runs and its sentry holds the task; Home is where its record
// lives, the node to tell about state changes (PeerEvent.To), never the
// place to deliver a signal.
type Target struct {
	PID     int
	Node    string // node it runs on: deliver signals and wake waiters here
	Virtual bool   // no kernel process: the caller decides what delivery means
	Home    string // node holding its record
	// Group marks a target of kill(0), kill(-pgid) or kill(-1): its
	// deliverer gives the signal also to the children it forked since
	// it was listed (Space.BornSince), as Linux's group signals reach
	// both parent and child of a fork they cross.
	Group GroupSend
}

// GroupSend says which group send listed a target, and when. Linux sends
// a group signal to every member at one instant, and a fork it crosses
// gives it to the child too (copy_process's multiprocess list); herd
// lists the members first (possibly asking other nodes) and delivers
// later, so a member's children born in between must get it as well.
type GroupSend struct {
	// PGID is the group sent to; -1 for kill(-1)'s every process; 0
	// for a signal to one process.
	PGID int
	// At is the node that listed the target, Seen that node's count of
	// forks then (Space.BornSince).
	At   string
	Seen uint64
}

func (p *Process) target() Target {
	return Target{PID: p.PID, Node: p.Node, Virtual: p.Virtual, Home: p.Home}
}
