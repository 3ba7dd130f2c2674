package sentry

import (
	"errors"
	"fmt"
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
}

// Sentry traces the sandboxed tasks of one node.
type Sentry struct {
	cfg    Config
	log    *slog.Logger
	filter []byte // the BPF program, as handed to the shim

	// Owned by the tracer thread.
	tasks    map[int]*Task
	procs    map[int]*proc
	newborns map[int]*Task // stopped children whose creator's event is pending
	forks    forkLock

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
		cfg:      cfg,
		log:      cfg.Log,
		filter:   encodeFilter(prog),
		tasks:    make(map[int]*Task),
		procs:    make(map[int]*proc),
		newborns: make(map[int]*Task),
		started:  make(chan error, 1),
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

func (s *Sentry) event(tid int, ws unix.WaitStatus, ru *unix.Rusage) {
	t := s.tasks[tid]
	switch {
	case ws.Exited() || ws.Signaled():
		if t != nil {
			s.gone(t, ws, ru)
		} else if nb := s.newborns[tid]; nb != nil {
			delete(s.newborns, tid)
		}
		return
	case ws.Continued():
		// The kernel's report to the real parent; the POSIX one is
		// made from the tracee's own stops.
		return
	case !ws.Stopped():
		return
	}
	if t == nil {
		s.newborn(tid)
		return
	}
	t.regsValid = false
	// Any ptrace stop satisfies a pending PTRACE_INTERRUPT: the kernel
	// clears the trap, so no separate interrupt stop will follow.
	t.interrupted = false
	if t.state == stateNewborn {
		// The first stop of a child already recorded at its creator's
		// event: let it run.
		s.firstRun(t)
		return
	}
	sig := ws.StopSignal()
	if t.state == stateInjecting {
		cause := int(ws>>16) & 0xff
		if sig == unix.SIGTRAP|0x80 || (sig == unix.SIGTRAP && cause == unix.PTRACE_EVENT_SECCOMP) {
			s.injectionStop(t, sig == unix.SIGTRAP|0x80)
			return
		}
	}
	// Not ws.TrapCause: it hides the event of a stop by any signal but
	// SIGTRAP, and group-stops report their stop signal.
	switch cause := int(ws>>16) & 0xff; {
	case sig == unix.SIGTRAP|0x80 && t.state == stateAwaitEntry:
		if syscallStopKind(t.TID) != unix.PTRACE_SYSCALL_INFO_ENTRY {
			// The exit of a call already under way (an execve, a
			// restarted call): go on to the next entry.
			s.toNextEntry(t, 0)
			return
		}
		if !s.injectAtEntry(t) {
			s.resume(t, 0)
		}
	case sig == unix.SIGTRAP|0x80:
		s.syscallExit(t)
	case sig == unix.SIGTRAP && cause == unix.PTRACE_EVENT_SECCOMP:
		s.syscallEntry(t)
	case cause == unix.PTRACE_EVENT_FORK || cause == unix.PTRACE_EVENT_VFORK || cause == unix.PTRACE_EVENT_CLONE:
		s.cloneEvent(t)
	case cause == unix.PTRACE_EVENT_EXEC:
		s.execEvent(t)
	case cause == unix.PTRACE_EVENT_STOP:
		s.eventStop(t, int(sig))
	case cause == 0:
		s.signalStop(t, int(sig))
	default:
		s.resume(t, 0)
	}
}

// resume continues t with signal sig (0 for none). A task with
// injections pending goes on to its next syscall entry instead, where they
// run.
func (s *Sentry) resume(t *Task, sig int) {
	if len(t.injections) > 0 {
		s.toNextEntry(t, sig)
		return
	}
	if err := t.flushRegs(); err != nil {
		s.log.Debug("resume", "task", t, "err", err)
	}
	t.state = stateRunning
	t.regsValid = false
	if err := ptraceCont(t.TID, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("ptrace cont", "task", t, "err", err)
	}
}

// resumeToExit continues t to its syscall-exit stop.
func (s *Sentry) resumeToExit(t *Task, state taskState) {
	if err := t.flushRegs(); err != nil {
		s.log.Debug("resume", "task", t, "err", err)
	}
	t.state = state
	t.regsValid = false
	if err := ptraceSyscall(t.TID, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("ptrace syscall", "task", t, "err", err)
	}
}

func (s *Sentry) syscallEntry(t *Task) {
	if s.injectAtEntry(t) {
		return
	}
	nr := sysnoOf(t.Regs())
	t.sysno = nr
	t.entry = t.regs
	t.state = stateSyscall
	row := s.cfg.Table.Lookup(uintptr(nr))
	if row == nil || row.Handler == nil {
		s.resume(t, 0)
		return
	}
	// The shim's own calls are not the user's program: not traced.
	tracing := s.cfg.Strace != nil && !s.procOf(t.TGID).shim
	var args [6]uintptr
	if tracing {
		args = argsOf(t.Regs())
	}
	act := row.Handler(t)
	if tracing {
		act = s.trace(t, row, args, act)
	}
	s.apply(t, act)
}

func (s *Sentry) apply(t *Task, act Action) {
	switch act.kind {
	case actNative:
		if act.after != nil {
			t.after = act.after
			s.resumeToExit(t, stateAwaitExit)
			return
		}
		s.resume(t, 0)
	case actReturn:
		r := t.Regs()
		setSysno(r, noSyscall) // skip the call
		setRet(r, act.val)
		t.MarkRegsDirty()
		s.resume(t, 0)
	case actPark:
		r := t.Regs()
		t.park = &parked{nr: uint64(sysnoOf(r)), cancel: act.cancel, interrupted: act.interrupted}
		if act.async != nil {
			s.startAsync(t, t.park, act.async)
		}
		setSysno(r, unix.SYS_PAUSE)
		t.MarkRegsDirty()
		s.resumeToExit(t, stateParked)
	case actHold:
		t.state = stateHeld
	}
}

// SetReturn sets the result the current syscall returns; for use in a
// NativeThen function at the exit stop.
func (t *Task) SetReturn(v int64) {
	setRet(t.Regs(), v)
	t.MarkRegsDirty()
}

func (s *Sentry) syscallExit(t *Task) {
	switch t.state {
	case stateParked:
		s.unpark(t)
	case stateAwaitExit:
		f := t.after
		t.after = nil
		ret := retOf(t.Regs())
		if f != nil {
			f(t, ret)
		}
		if isRestart(ret) {
			// The kernel will restart the call from orig_rax and the
			// argument registers: make it the call the task made, not
			// the handler's rewrite, which will be trapped again.
			r := t.Regs()
			setSysno(r, uint64(sysnoOf(&t.entry)))
			copyArgs(r, &t.entry)
			t.MarkRegsDirty()
		}
		s.resume(t, 0)
	default:
		s.resume(t, 0)
	}
}

func isRestart(ret int64) bool {
	switch int(-ret) {
	case ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK:
		return true
	}
	return false
}

// parked is an emulated call waiting in pause().
type parked struct {
	nr          uint64 // the real syscall, restored for a restart
	cancel      func()
	interrupted int64
	// release, if set, runs whenever the call ends (an async call's
	// context is released).
	release func()
	done    bool
	val     int64
	// then finishes a completed async call at the exit stop.
	then func(t *Task) int64
}

// endPark drops t's parked call, if any, as the task dies or execs: an
// emulation still under way is withdrawn.
func (t *Task) endPark() {
	p := t.park
	t.park = nil
	if p == nil {
		return
	}
	if !p.done && p.cancel != nil {
		p.cancel()
	}
	if p.release != nil {
		p.release()
	}
}

// Wake completes t's parked call with result v. It may be called any
// time on the tracer thread; a call already interrupted by a signal (and
// so cancelled) ignores it.
func (t *Task) Wake(v int64) {
	p := t.park
	if p == nil || p.done {
		return
	}
	p.done, p.val = true, v
	if err := ptraceInterrupt(t.TID); err != nil && !errors.Is(err, unix.ESRCH) {
		t.s.log.Warn("ptrace interrupt", "task", t, "err", err)
	}
	t.interrupted = true
}

// Parked reports whether t waits in an emulated call.
func (t *Task) Parked() bool { return t.park != nil && !t.park.done }

func (s *Sentry) unpark(t *Task) {
	p := t.park
	t.park = nil
	r := t.Regs()
	setSysno(r, p.nr)
	if p.done {
		setRet(r, p.val)
		if p.then != nil {
			// The task is stopped, its arguments in their registers:
			// then may read them and write the task's memory.
			setRet(r, p.then(t))
		}
	} else {
		// A signal (or a spurious wake) ended pause(): withdraw the
		// emulation and let the kernel's restart logic decide.
		if p.cancel != nil {
			p.cancel()
		}
		setRet(r, p.interrupted)
	}
	if p.release != nil {
		p.release()
	}
	t.MarkRegsDirty()
	if s.cfg.Strace != nil {
		fmt.Fprintf(s.cfg.Strace, "[pid %d] <... %s resumed> = %s\n", t.TID, s.sysName(int(p.nr)), retString(retOf(r)))
	}
	s.resume(t, 0)
}

func (s *Sentry) eventStop(t *Task, sig int) {
	p := s.procOf(t.TGID)
	if sig == int(unix.SIGTRAP) || sig == 0 {
		// PTRACE_INTERRUPT's stop, or a listening task woken by
		// SIGCONT.
		if t.state == stateGroupStop && p.stopped {
			p.stopped, p.stopAs = false, 0
			s.cfg.Hooks.Continued(t.TGID)
		}
		s.resume(t, 0)
		return
	}
	// A group-stop: keep the task stopped but let SIGCONT wake it.
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
	st, err := ReadProcStatus(tid)
	if err != nil {
		return false
	}
	bit := uint64(1) << (sig - 1)
	for _, field := range []string{"SigIgn", "SigCgt"} {
		if mask, err := st.Mask(field); err != nil || mask&bit != 0 {
			return false
		}
	}
	return true
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

func (s *Sentry) execEvent(t *Task) {
	former, _ := ptraceGetEventMsg(t.TID)
	if int(former) != t.TID {
		// A non-leader thread exec'd: it took the leader's TID.
		if old := s.tasks[int(former)]; old != nil {
			old.endPark()
			s.forks.abandon(s, old)
			delete(s.tasks, int(former))
			s.procOf(t.TGID).threads--
			s.cfg.Hooks.ThreadExited(int(former), t.TGID)
		}
	}
	s.forks.abandon(s, t) // the old leader, gone mid-clone?
	t.endPark()
	t.after, t.clone = nil, nil
	s.procOf(t.TGID).shim = false
	s.cfg.Hooks.Execed(t)
	s.resume(t, 0)
}

func (s *Sentry) gone(t *Task, ws unix.WaitStatus, ru *unix.Rusage) {
	delete(s.tasks, t.TID)
	t.endPark()
	s.forks.abandon(s, t)
	for _, inj := range t.injections {
		inj.done(-int64(unix.ESRCH))
	}
	if t.inject != nil {
		t.inject.done(-int64(unix.ESRCH))
	}
	t.injections, t.inject = nil, nil
	p := s.procOf(t.TGID)
	p.threads--
	if !t.IsLeader() {
		s.cfg.Hooks.ThreadExited(t.TID, t.TGID)
		return
	}
	delete(s.procs, t.TGID)
	s.cfg.Hooks.Exited(t.TGID, ws, ru)
}

// adopt registers a task the tracer now owns.
func (s *Sentry) adopt(t *Task) {
	s.tasks[t.TID] = t
	s.procOf(t.TGID).threads++
}
