package sentry

import (
	"errors"
	"fmt"
	"herd/procview"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Hooks are how the owner of a Sentry learns what its tasks do. Every hook
// runs on the tracer thread while the tasks it names are stopped (or gone),
// so hooks must not block.
type Hooks interface {
	// Cloned reports a new task made by parent's clone, fork or vfork.
	// The child has not run yet; it runs when the hook returns.
	Cloned(parent, child *Task, op *CloneOp)
	// Execed reports a successful execve by t (now its thread group's
	// leader; other threads are gone).
	Execed(t *Task)
	// ThreadExited reports a thread other than the leader gone from the
	// kernel; its TID is free once the hook returns.
	ThreadExited(tid, tgid int)
	// Exited reports a whole process gone from the kernel (herd-init
	// reaped its leader): status is the wait status, ru its usage.
	Exited(tgid int, status unix.WaitStatus, ru *unix.Rusage)
	// Stopped reports a process entering a group-stop by signal sig.
	Stopped(tgid, sig int)
	// Continued reports a stopped process resumed by SIGCONT.
	Continued(tgid int)
	// JobStops says whether a terminal stop signal (SIGTSTP, SIGTTIN,
	// SIGTTOU) at its default action stops process tgid: false when its
	// process group is orphaned (POSIX: the signal is discarded).
	JobStops(tgid int) bool
}

// Config is what a Sentry needs.
type Config struct {
	Table *Table
	Hooks Hooks
	// Strace, when set, receives a line per trapped syscall.
	Strace io.Writer
	Log    *slog.Logger
}

// proc is the sentry's per-thread-group bookkeeping.
type proc struct {
	// shim: the process is still herd's shim (until its exec); --strace
	// does not show its calls.
	shim    bool
	threads int
	stopped bool
	// stopAs is the job-control signal a SIGSTOP stands for (jobStop).
	stopAs int
	// injected holds the siginfo herd-init's own signals must carry,
	// by signal: a standard signal coalesces as the kernel's do.
	injected map[int][]SigInfo
	// placed: started by SpawnPlaced and not yet released (placed.go).
	placed *placement
	// departed: gone on to another node (Depart) or dropped; its exit
	// is reported to no one, but to departedGone if set.
	departed     bool
	departedGone func()
}

// Sentry traces the sandboxed tasks of one node.
type Sentry struct {
	cfg    Config
	log    *slog.Logger
	filter []byte // the BPF program, as handed to the shim
	// notifyFilter is the program with user notification for the
	// notified rows, and answers their Answers; both nil when the
	// sentry does not use notification (notify.go).
	notifyFilter []byte
	answers      map[uintptr]Answer
	hop          bool // run Answers on the tracer thread (notifyEnv=hop)
	// threadIDs maps TIDs to TGIDs for the notification receivers;
	// receivers counts the running receivers.
	threadIDs threadIDs
	receivers atomic.Int32

	// Owned by the tracer thread.
	status   procview.Status // scratch record of Task.status
	tasks    map[int]*Task
	procs    map[int]*proc
	newborns map[int]*Task // stopped children whose creator's event is pending
	standIns map[int]*StandIn
	forks    forkLock
	// pair holds the restarts resumePair makes back to back.
	pair restartPair
	// stillborn: deaths of children collected before their birth.
	stillborn stillborn
	// discarded: children killed at birth because their clone is made
	// again (redoClone); their exits are expected.
	discarded map[int]bool
	// guardArmed: a phantom check is scheduled (phantom.go).
	guardArmed bool

	// inflight counts async functions whose answer has not yet been
	// handled on the tracer thread.
	inflight sync.WaitGroup

	jobsMu sync.Mutex
	jobs   []func()
	bell   atomic.Pointer[bell]

	lastPid *os.File

	started chan error
}

// New makes a sentry. Start runs it.
func New(cfg Config) (*Sentry, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	prog, err := cfg.Table.Filter()
	if err != nil {
		return nil, err
	}
	s := &Sentry{
		cfg:       cfg,
		log:       cfg.Log,
		filter:    encodeFilter(prog),
		tasks:     make(map[int]*Task),
		procs:     make(map[int]*proc),
		newborns:  make(map[int]*Task),
		stillborn: make(stillborn),
		discarded: make(map[int]bool),
		started:   make(chan error, 1),
	}
	// --strace shows every trapped call: all of them stop then.
	if answers := notifyAnswers(cfg.Table); len(answers) > 0 && cfg.Strace == nil && notifySupported() {
		nprog, err := cfg.Table.NotifyFilter()
		if err != nil {
			return nil, err
		}
		s.notifyFilter, s.answers = encodeFilter(nprog), answers
		s.hop = os.Getenv(notifyEnv) == "hop"
	}
	return s, nil
}

// Start launches the tracer thread. It must be called from pid 1 of the
// node's PID namespace (see BecomeInit).
func (s *Sentry) Start() error {
	f, err := os.OpenFile("/proc/sys/kernel/ns_last_pid", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open ns_last_pid: %w", err)
	}
	s.lastPid = f
	go s.loop()
	return <-s.started
}

// Post runs f on the tracer thread, soon. It is how goroutines (RPCs,
// the launcher connection) hand work to the tracer, which never blocks.
func (s *Sentry) Post(f func()) {
	s.jobsMu.Lock()
	s.jobs = append(s.jobs, f)
	s.jobsMu.Unlock()
	if b := s.bell.Load(); b != nil {
		b.ring()
	}
}

func (s *Sentry) runJobs() {
	for {
		s.jobsMu.Lock()
		jobs := s.jobs
		s.jobs = nil
		s.jobsMu.Unlock()
		if len(jobs) == 0 {
			return
		}
		for _, f := range jobs {
			f()
		}
	}
}

// Task returns the task with tid, if traced. Tracer thread only.
func (s *Sentry) Task(tid int) *Task { return s.tasks[tid] }

// TaskCount is the number of traced tasks. Tracer thread only.
func (s *Sentry) TaskCount() int { return len(s.tasks) }

// defaultSIGCHLD gives SIGCHLD its default disposition in herd-init.
// The Go runtime installs a handler for every signal, and the kernel sends
// the tracer's process a SIGCHLD on every ptrace stop of every tracee:
// delivering it to a Go handler was a fifth of the tracer's CPU per
// trapped call. With SIG_DFL (whose default is to ignore, without
// auto-reaping, unlike SIG_IGN) the kernel discards it at once. herd-init
// learns of its children through wait4, never through SIGCHLD.
func defaultSIGCHLD() {
	act := [4]uint64{linux.SIG_DFL, 0, 0, 0}
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

func (s *Sentry) loop() {
	runtime.LockOSThread()
	defaultSIGCHLD()
	// The tracer thread never unlocks: ptrace ties tracees to it.
	b, err := startBell()
	if err != nil {
		s.started <- fmt.Errorf("start tracer bell: %w", err)
		return
	}
	s.bell.Store(b)
	s.started <- nil
	for {
		s.runJobs()
		b := s.bell.Load()
		var ws unix.WaitStatus
		var ru unix.Rusage
		tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WUNTRACED|unix.WCONTINUED, &ru)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			s.log.Error("tracer wait", "err", err)
			return
		}
		if tid == b.pid {
			if ws.Stopped() {
				b.resume()
			} else if ws.Exited() || ws.Signaled() {
				// Killed from outside (the OOM killer, an admin):
				// without it no posted work would wake the tracer.
				s.log.Error("tracer bell died; starting another", "status", ws)
				nb, err := startBell()
				if err != nil {
					s.log.Error("restart tracer bell", "err", err)
					return
				}
				s.bell.Store(nb)
			}
			continue
		}
		if s.standInEvent(tid, ws) {
			continue
		}
		s.event(tid, ws, &ru)
	}
}

func (s *Sentry) procOf(tgid int) *proc {
	p := s.procs[tgid]
	if p == nil {
		p = &proc{}
		s.procs[tgid] = p
	}
	return p
}
