package pidspace

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InitPID is herd-init's PID: the reaper of orphans, never a POSIX parent
// of anything else.
const InitPID = 1

// Space holds the process records of one PID space and the POSIX tree
// between them.
//
// Every method is safe for concurrent use and never blocks on anything but
// the Space's own short critical sections: no I/O, no waiting. Operations
// that have consequences elsewhere (signals to send, waiters to wake,
// other nodes' Spaces to tell) return them as Effects for the caller to
// carry out. The one exception is a Space given Peers (SetPeers): the
// methods that consult them (see Peers) wait for their answers, outside
// the lock.
//
// PID lifetime. A PID is returned to the Allocator (Allocator.Free, called
// by the Space after its lock is released) exactly once, when all of these
// hold, as the kernel keeps a struct pid alive:
//   - no record has it as PID (the process was reaped);
//   - no record has it as PGID or SID (zombies count until reaped);
//   - the kernel task is gone: KernelGone was called for it, or the record
//     is Virtual and has none.
//
// InitPID is never freed. A record exported to another node (Export) is
// not freed here, whatever refers to it: its new node frees it. A record
// imported here (Import) is freed here like one created here, though its
// PID is lent: the Allocator hands it back to its lease holder
// (BlockAllocator.SetForeign).
type Space struct {
	node  string
	alloc Allocator

	mu       sync.Mutex
	procs    map[int]*proc
	groups   map[int]map[int]*proc // pgid -> members, zombies included
	sessions map[int]int           // sid -> number of records in it
	kernel   map[int]bool          // PIDs whose kernel task may still exist
	toFree   []int                 // PIDs to hand to alloc.Free after unlocking
	own      map[int]bool          // PIDs of records homed here: the only ones freed here (lent ones too)
	peers    Peers                 // the other nodes' records; nil = this Space is the world
	moved    map[int]movedTo       // records exported, until Returned: where events about them go
	forks    uint64                // forks recorded here so far (proc.born)
	now      func() time.Time
}

type proc struct {
	Process
	children     []int  // in the kernel's order: oldest first, reparented ones appended
	execID       uint64 // bumped by every Exec (the kernel's self_exec_id)
	parentExecID uint64 // parent's execID when this process was forked
	// transit: a stub of a record exported from here (Export) that its
	// new node has not yet spoken of (refreshLocked): this Space still
	// answers the peers' group and kill(-1) questions for it.
	transit     bool
	stopPending bool   // a stop not yet reported by wait
	contPending bool   // a continue not yet reported by wait
	gen         uint64 // version of what kin know (Kin.Gen): a stub ignores older views
	lost        bool   // a stub of a process lost with its node (NodeLost): its home hears nothing more
	// born is Space.forks after this record's fork here (0: not forked
	// here), arrived before its import here, if imported (BornSince).
	born, arrived uint64
	imported      bool
	// listed is set on a candidate of a group send built from a
	// peer's answer (remoteCandidates), never on a record in procs.
	listed GroupSend
}

// NewSpace returns an empty Space for the node named node; records added
// without a node are placed there. alloc receives freed PIDs; it may be
// nil when PIDs are managed elsewhere (tests).
func NewSpace(node string, alloc Allocator) *Space {
	return &Space{
		node:     node,
		alloc:    alloc,
		procs:    make(map[int]*proc),
		groups:   make(map[int]map[int]*proc),
		sessions: make(map[int]int),
		kernel:   make(map[int]bool),
		own:      make(map[int]bool),
		moved:    make(map[int]movedTo),
		now:      time.Now,
	}
}

// unlock releases the lock and then frees the PIDs that became
// unreferenced, so the Allocator never runs under the Space's lock.
func (s *Space) unlock() {
	free := s.toFree
	s.toFree = nil
	s.mu.Unlock()
	if s.alloc == nil {
		return
	}
	for _, pid := range free {
		s.alloc.Free(pid)
	}
}

// maybeFreeLocked queues pid for Free if nothing refers to it any more.
func (s *Space) maybeFreeLocked(pid int) {
	if pid == InitPID || s.procs[pid] != nil || s.kernel[pid] || len(s.groups[pid]) > 0 || s.sessions[pid] > 0 {
		return
	}
	if !s.own[pid] {
		// A stub's PID, or a group or session homed elsewhere: its home
		// frees it.
		return
	}
	delete(s.own, pid)
	// One operation can drop several references to the same number (a
	// leader's PID, PGID and SID); freeing it twice could free a reuse.
	if slices.Contains(s.toFree, pid) {
		return
	}
	s.toFree = append(s.toFree, pid)
}

// insertLocked adds a new record and its group and session references.
func (s *Space) insertLocked(p *proc) {
	if p.Home == "" {
		p.Home = s.node
	}
	s.procs[p.PID] = p
	s.joinLocked(p, p.PGID, p.SID)
	if !p.Stub {
		s.own[p.PID] = true
	}
	if !p.Stub && !p.Virtual {
		s.kernel[p.PID] = true
	}
	// Links are kept between records homed here and their kin; two stubs
	// are linked at their homes, not here.
	if parent := s.procs[p.PPID]; parent != nil && parent != p && !(parent.Stub && p.Stub) {
		parent.children = append(parent.children, p.PID)
	}
}

// joinLocked moves p into group pgid of session sid, dropping its old
// references (the first time, p.PGID/p.SID are not yet referenced).
func (s *Space) joinLocked(p *proc, pgid, sid int) {
	if g := s.groups[p.PGID]; g[p.PID] == p {
		delete(g, p.PID)
		if len(g) == 0 {
			delete(s.groups, p.PGID)
		}
		s.sessions[p.SID]--
		if s.sessions[p.SID] == 0 {
			delete(s.sessions, p.SID)
		}
		defer s.maybeFreeLocked(p.PGID)
		defer s.maybeFreeLocked(p.SID)
	}
	p.PGID, p.SID = pgid, sid
	g := s.groups[pgid]
	if g == nil {
		g = make(map[int]*proc)
		s.groups[pgid] = g
	}
	g[p.PID] = p
	s.sessions[sid]++
}

// removeLocked deletes a reaped record and drops its references.
func (s *Space) removeLocked(p *proc) {
	if parent := s.procs[p.PPID]; parent != nil {
		parent.children = slices.DeleteFunc(parent.children, func(c int) bool { return c == p.PID })
	}
	delete(s.procs, p.PID)
	if g := s.groups[p.PGID]; g != nil {
		delete(g, p.PID)
		if len(g) == 0 {
			delete(s.groups, p.PGID)
		}
	}
	s.sessions[p.SID]--
	if s.sessions[p.SID] == 0 {
		delete(s.sessions, p.SID)
	}
	s.maybeFreeLocked(p.PID)
	s.maybeFreeLocked(p.PGID)
	s.maybeFreeLocked(p.SID)
}

// liveLocked returns the record of pid if it is homed here and has not
// exited.
func (s *Space) liveLocked(pid int) (*proc, error) {
	p := s.procs[pid]
	if p == nil || p.Stub || p.State == Zombie {
		return nil, syscall.ESRCH
	}
	return p, nil
}

// AddInit adds herd-init as InitPID: root, its own session and group, on
// this Space's node. Herd-init reaps every child at once, whatever its
// record says, and its record shows SIGCHLD as SIG_IGN: orphans that exit,
// or are zombies when reparented to it, are reaped without a zombie or a
// signal (listed in Effects.Reaped).
func (s *Space) AddInit() error {
	s.mu.Lock()
	defer s.unlock()
	if s.procs[InitPID] != nil {
		return fmt.Errorf("add init: %w", syscall.EEXIST)
	}
	s.insertLocked(&proc{Process: Process{
		PID: InitPID, PGID: InitPID, SID: InitPID,
		Node: s.node, Comm: "herd-init", Args: "herd-init",
		Execed: true, ExitSignal: int(syscall.SIGCHLD),
		Sigchld:   SigchldAction{Ignored: true},
		StartTime: s.now(),
	}})
	return nil
}

// AddVirtual adds the record of a herd run launcher: a process with no
// kernel task that stands for the user's shell. It leads its own session
// and process group, its parent is InitPID, and it is the POSIX parent of
// the program the launcher starts (see Spawn). Signals addressed to it by
// PID come back from SignalTargets with Target.Virtual set; it is never
// reached by kill(-1) or by a group kill. The launcher collects its
// program's exit with Wait like any parent; it inherits nothing from pid
// (it must be allocated or reserved by the caller).
func (s *Space) AddVirtual(pid int, creds Creds, comm string) error {
	s.mu.Lock()
	defer s.unlock()
	if pid <= InitPID {
		return fmt.Errorf("add launcher %d: %w", pid, syscall.EINVAL)
	}
	if s.procs[pid] != nil || len(s.groups[pid]) > 0 || s.sessions[pid] > 0 {
		return fmt.Errorf("add launcher %d: %w", pid, syscall.EEXIST)
	}
	s.insertLocked(&proc{Process: Process{
		PID: pid, PPID: InitPID, PGID: pid, SID: pid,
		Creds: creds, Node: s.node, Comm: comm, Args: comm,
		Execed: true, ExitSignal: int(syscall.SIGCHLD), Virtual: true,
		StartTime: s.now(),
	}})
	return nil
}

// SpawnArgs describes a top-level program started by a launcher.
type SpawnArgs struct {
	PPID int // the launcher (or any live process)
	PID  int
	// PGID is the program's process group: 0 or PID for a new group, or a
	// group of session SID. SID is 0 for the parent's session, or PID for a
	// new session (then PGID must be PID too).
	PGID, SID int
	Creds     Creds
	Node      string // "" = the Space's node
	Comm      string
	Args      string
}

// Spawn adds a program started from outside the tree (by herd run): it has
// exec'd, reports to its parent with SIGCHLD, and its kernel task exists.
// Errors: ESRCH if the parent is missing or a zombie, EEXIST if PID is
// taken, EINVAL for a PID <= 1, EPERM if PGID/SID name no group/session
// the program may join.
func (s *Space) Spawn(a SpawnArgs) error {
	s.mu.Lock()
	defer s.unlock()
	parent, err := s.liveLocked(a.PPID)
	if err != nil {
		return fmt.Errorf("spawn %d: parent %d: %w", a.PID, a.PPID, err)
	}
	if a.PID <= InitPID {
		return fmt.Errorf("spawn %d: %w", a.PID, syscall.EINVAL)
	}
	if s.procs[a.PID] != nil {
		return fmt.Errorf("spawn %d: %w", a.PID, syscall.EEXIST)
	}
	pgid, sid := a.PGID, a.SID
	if pgid == 0 {
		pgid = a.PID
	}
	if sid == 0 {
		sid = parent.SID
	}
	switch {
	case sid == a.PID:
		if pgid != a.PID || s.sessions[sid] > 0 || len(s.groups[pgid]) > 0 {
			return fmt.Errorf("spawn %d: new session: %w", a.PID, syscall.EPERM)
		}
	case s.sessions[sid] == 0:
		return fmt.Errorf("spawn %d: no session %d: %w", a.PID, sid, syscall.EPERM)
	case pgid == a.PID:
		if len(s.groups[pgid]) > 0 {
			return fmt.Errorf("spawn %d: group %d exists: %w", a.PID, pgid, syscall.EPERM)
		}
	case s.groupSessionLocked(pgid) != sid:
		return fmt.Errorf("spawn %d: no group %d in session %d: %w", a.PID, pgid, sid, syscall.EPERM)
	}
	node := a.Node
	if node == "" {
		node = s.node
	}
	s.insertLocked(&proc{Process: Process{
		PID: a.PID, PPID: a.PPID, PGID: pgid, SID: sid,
		Creds: a.Creds, Node: node, Comm: a.Comm, Args: a.Args,
		Execed: true, ExitSignal: int(syscall.SIGCHLD),
		StartTime: s.now(),
	}, parentExecID: parent.execID})
	return nil
}

// groupSessionLocked returns the session of group pgid, or 0 if it has no
// members. All members of a group share its session.
func (s *Space) groupSessionLocked(pgid int) int {
	for _, m := range s.groups[pgid] {
		return m.SID
	}
	return 0
}

// Fork records that parent created child with fork, vfork or a non-thread
// clone, as Linux's copy_process does: the child inherits group, session,
// credentials, node, command and SIGCHLD disposition; it has not exec'd,
// has no parent-death signal and is not a subreaper. exitSignal is the
// signal it will send the parent on exit (SIGCHLD for fork; clone's low
// byte otherwise, which makes it a __WCLONE child). For CLONE_PARENT the
// caller passes the caller's parent as parent and its exit signal.
// Errors: ESRCH if parent is missing or a zombie, EEXIST if child is
// taken, EINVAL for a bad PID or signal.
func (s *Space) Fork(parent, child, exitSignal int) error {
	s.mu.Lock()
	defer s.unlock()
	p, err := s.liveLocked(parent)
	if err != nil {
		return fmt.Errorf("fork %d from %d: %w", child, parent, err)
	}
	if child <= InitPID || !validSignal(exitSignal) {
		return fmt.Errorf("fork %d from %d: %w", child, parent, syscall.EINVAL)
	}
	if s.procs[child] != nil {
		return fmt.Errorf("fork %d from %d: %w", child, parent, syscall.EEXIST)
	}
	s.insertLocked(&proc{Process: Process{
		PID: child, PPID: parent, PGID: p.PGID, SID: p.SID,
		Creds: p.Creds, Node: p.Node, Comm: p.Comm, Args: p.Args,
		ExitSignal: exitSignal, Sigchld: p.Sigchld,
		StartTime: s.now(),
	}, parentExecID: p.execID, born: s.forks + 1})
	s.forks++
	return nil
}

// Exec records a successful execve. As the kernel does, it resets the
// SIGCHLD flags (SA_NOCLDSTOP, SA_NOCLDWAIT) but keeps SIG_IGN, and from
// now on clone children report to this process with SIGCHLD whatever exit
// signal they asked for (the kernel's parent_exec_id check).
func (s *Space) Exec(pid int, comm, args string) error {
	return s.update(pid, "exec", func(p *proc) error {
		p.Execed = true
		p.Comm, p.Args = comm, args
		p.execID++
		p.Sigchld.NoCldStop, p.Sigchld.NoCldWait = false, false
		return nil
	})
}

// SetCreds records new credentials (setuid family, set-id exec). As
// commit_creds does, a change of effective uid or gid clears the
// parent-death signal.
func (s *Space) SetCreds(pid int, c Creds) error {
	return s.update(pid, "set creds", func(p *proc) error {
		if c.EUID != p.Creds.EUID || c.EGID != p.Creds.EGID {
			p.Pdeathsig = 0
		}
		p.Creds = c
		return nil
	})
}

// SetSigchldAction records pid's SIGCHLD disposition (rt_sigaction of
// SIGCHLD). It affects children that exit, stop or continue from now on;
// existing zombies stay, as on Linux.
func (s *Space) SetSigchldAction(pid int, a SigchldAction) error {
	return s.update(pid, "set SIGCHLD action", func(p *proc) error {
		p.Sigchld = a
		return nil
	})
}

// SetSubreaper sets or clears PR_SET_CHILD_SUBREAPER for pid.
func (s *Space) SetSubreaper(pid int, on bool) error {
	return s.update(pid, "set subreaper", func(p *proc) error {
		p.Subreaper = on
		return nil
	})
}

// SetPdeathsig sets PR_SET_PDEATHSIG for pid (0 clears it). EINVAL for a
// signal outside 0..64.
func (s *Space) SetPdeathsig(pid, sig int) error {
	return s.update(pid, "set pdeathsig", func(p *proc) error {
		if !validSignal(sig) {
			return syscall.EINVAL
		}
		p.Pdeathsig = sig
		return nil
	})
}

// SetNode records that pid now runs on node while its record stays here.
// A process placed on another node takes its record along instead
// (Export, Import), which keeps Home == Node.
func (s *Space) SetNode(pid int, node string) error {
	return s.update(pid, "set node", func(p *proc) error {
		p.Node = node
		return nil
	})
}

// KernelGone records that the kernel task of pid no longer exists
// (herd-init reaped it, or its node died), so the PID may be freed once
// nothing else refers to it. It may come before or after Exit. ESRCH if
// the Space never knew a kernel task of pid; the caller then owns the PID
// and frees it itself.
func (s *Space) KernelGone(pid int) error {
	s.mu.Lock()
	defer s.unlock()
	if !s.kernel[pid] {
		return fmt.Errorf("kernel task %d gone: %w", pid, syscall.ESRCH)
	}
	delete(s.kernel, pid)
	s.maybeFreeLocked(pid)
	return nil
}

// Lookup returns a snapshot of pid's record, zombies and stubs included
// (Process.Stub says which).
func (s *Space) Lookup(pid int) (Process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil {
		return Process{}, false
	}
	return p.Process, true
}

// List returns snapshots of every record homed here, zombies included, by
// PID. Stubs are left out: their homes list them.
func (s *Space) List() []Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Process, 0, len(s.procs))
	for _, pid := range slices.Sorted(maps.Keys(s.procs)) {
		if p := s.procs[pid]; !p.Stub {
			out = append(out, p.Process)
		}
	}
	return out
}

// Children returns pid's children, zombies included, in the order wait
// considers them (oldest first, reparented children last). ESRCH if pid
// has no record.
func (s *Space) Children(pid int) ([]int, error) {
	return read(s, pid, func(p *proc) []int { return slices.Clone(p.children) })
}

// ChildrenRusage returns the usage of pid's reaped children and their
// reaped descendants (getrusage RUSAGE_CHILDREN, times' cutime/cstime).
// Children reaped automatically (SIG_IGN, SA_NOCLDWAIT) are not counted,
// as on Linux.
func (s *Space) ChildrenRusage(pid int) (Rusage, error) {
	return read(s, pid, func(p *proc) Rusage { return p.ChildUsage })
}

// Getppid returns pid's POSIX parent (getppid). ESRCH if pid has no record.
func (s *Space) Getppid(pid int) (int, error) {
	return read(s, pid, func(p *proc) int { return p.PPID })
}

// Pdeathsig returns pid's parent-death signal (PR_GET_PDEATHSIG).
func (s *Space) Pdeathsig(pid int) (int, error) {
	return read(s, pid, func(p *proc) int { return p.Pdeathsig })
}

// Subreaper reports pid's PR_GET_CHILD_SUBREAPER flag.
func (s *Space) Subreaper(pid int) (bool, error) {
	return read(s, pid, func(p *proc) bool { return p.Subreaper })
}

// String dumps the records, one a line, like ps -o pid,ppid,pgid,sid,stat.
func (s *Space) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%7s %7s %7s %7s %-4s %-10s %s\n", "PID", "PPID", "PGID", "SID", "STAT", "NODE", "COMM")
	for _, p := range s.List() {
		stat := p.State.String()
		if p.Virtual {
			stat += "v"
		}
		if p.SessionLeader() {
			stat += "s"
		}
		fmt.Fprintf(&b, "%7d %7d %7d %7d %-4s %-10s %s\n", p.PID, p.PPID, p.PGID, p.SID, stat, p.Node, p.Comm)
	}
	return b.String()
}

// read returns get(record of pid) under the lock, zombies included; ESRCH
// if pid has no record homed here.
func read[T any](s *Space, pid int, get func(p *proc) T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil || p.Stub {
		var zero T
		return zero, syscall.ESRCH
	}
	return get(p), nil
}

// update runs set on pid's live record under the lock. Errors say what was
// being done: ESRCH if pid is missing or a zombie, else set's error.
func (s *Space) update(pid int, what string, set func(p *proc) error) error {
	s.mu.Lock()
	defer s.unlock()
	p, err := s.liveLocked(pid)
	if err == nil {
		err = set(p)
	}
	if err != nil {
		return fmt.Errorf("%s of %d: %w", what, pid, err)
	}
	return nil
}
