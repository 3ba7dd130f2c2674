package syscalls

import (
	"errors"
	"io"
	"log/slog"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/ipc"
	"herd/pidspace"
	"herd/sentry"
)

// Kernel is the emulated part of the node's kernel: the handlers, which
// read and change the process model through the services, and the Hooks
// through which the sentry reports what tasks did. Its methods run on the
// tracer thread unless they say otherwise.
type Kernel struct {
	node    string
	space   *pidspace.Space
	procs   ProcessModel
	signals Signaller
	place   Placement
	// events carries Effects.Remote to other nodes; remote reaches the
	// holders of PIDs this node does not hold (nil: a single node).
	events PeerEvents
	remote RemoteKills
	// procCalls runs process calls on PIDs of other nodes there
	// (proccall.go); nil on a single node.
	procCalls RemoteProcs
	// lane orders the model calls that may wait for peers (Peers set);
	// nil without Peers (peers.go).
	lane *lane
	// exiting are the processes whose exit the lane is recording.
	exiting map[int]bool
	// Moved, if set, names the node a process that left this node went
	// to, for a kill another node asks about (KillFrom forwards it
	// there): the Space's moved entries (Space.Moved).
	Moved func(pid int) (node string, ok bool)
	alloc pidspace.Allocator
	s     *sentry.Sentry
	tasks tasks
	log   *slog.Logger

	// waiters are the parked wait calls, by waiting process.
	waiters waiters
	// launches are the programs started by launchers.
	launches *launches
	// creators knows which thread made each child process.
	creators creators
	// pidfds remembers the target of each pidfd a process made, and
	// pidfdInodes the target of every pidfd by its inode.
	pidfds      pidfds
	pidfdInodes pidfdInodes
	// fdInode reads the inode of a task's fd (procview.FdInode), or
	// fails if pidfds share one inode (see pidfdInodeFunc).
	fdInode func(tid, fd int) (uint64, error)

	// placer places execs on other nodes (place.go); nil on a node
	// without a cluster. policies are the processes' placement
	// policies, inherited at fork; execHere marks threads whose next
	// execve runs here (their placement failed).
	placer   ExecPlacer
	policies map[int]string
	execHere map[int]bool
	// held are the execs other nodes handed here, not yet committed;
	// preparing those whose program is still starting.
	held      map[int]*heldExec
	preparing map[int]*preparing
	// lost are the nodes declared down (NodeLost) and not back since: no
	// exec is committed to them.
	lost map[string]bool
	// forks are the forks in flight (groupsig.go).
	forks forking
	// placing are the processes whose exec is being placed on another
	// node: signals to them go through the tracer thread, never the
	// kernel's own kill, so that none lands on the image after the
	// commit read its pending signals (place.go).
	placing map[int]bool

	// machine answers the calls that describe the machine (sysinfo.go).
	machine machine
	// ipc emulates System V message queues (ipc_msg.go); nil: the
	// kernel's own, in the node's IPC namespace.
	ipc *ipc.Service
}

// NewKernel makes the emulated kernel of node over space, whose PIDs come
// from alloc, with the node-local services: space is the process model,
// signals go through the sentry Attach binds, and every process is
// placed here.
func NewKernel(node string, space *pidspace.Space, alloc pidspace.Allocator, log *slog.Logger) *Kernel {
	var procs ProcessModel
	if space != nil {
		procs = space
	}
	k := newKernel(node, procs, alloc, log)
	k.space = space
	if space != nil {
		k.Moved = space.Moved
	}
	return k
}

func newKernel(node string, procs ProcessModel, alloc pidspace.Allocator, log *slog.Logger) *Kernel {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	k := &Kernel{
		node:        node,
		procs:       procs,
		place:       LocalPlacement(node),
		alloc:       alloc,
		log:         log,
		waiters:     make(waiters),
		pidfds:      make(pidfds),
		pidfdInodes: make(pidfdInodes),
		fdInode:     pidfdInodeFunc(),
		creators:    newCreators(),
		policies:    make(map[int]string),
		execHere:    make(map[int]bool),
		held:        make(map[int]*heldExec),
		preparing:   make(map[int]*preparing),
		exiting:     make(map[int]bool),
		forks:       make(forking),
		placing:     make(map[int]bool),
	}
	k.launches = newLaunches(k)
	return k
}

// Attach binds the kernel to the sentry that runs its table. Unless
// SetSignaller chose another, signals are delivered by a LocalSignaller
// over s.
func (k *Kernel) Attach(s *sentry.Sentry) {
	k.s = s
	k.tasks = liveTasks{s}
	if k.signals == nil {
		k.signals = LocalSignaller{Node: k.node, Sentry: s}
	}
}

// SetSignaller replaces the signal delivery service (before Attach, or on
// the tracer thread).
func (k *Kernel) SetSignaller(sig Signaller) { k.signals = sig }

// SetPlacement replaces the placement service (before Attach, or on the
// tracer thread).
func (k *Kernel) SetPlacement(p Placement) { k.place = p }

// Space is the process model.
func (k *Kernel) Space() *pidspace.Space { return k.space }

// errno turns an error from the process model into the errno the caller
// gets.
func errno(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EINVAL
}

// Cloned implements sentry.Hooks.
func (k *Kernel) Cloned(parent, child *sentry.Task, op *sentry.CloneOp) {
	if op.PID != op.ChildPID {
		// A PID the Space did not choose (a helper's own thread, or a
		// herd-init thread took the chosen one): account for both.
		if err := k.alloc.Reserve(op.ChildPID); err != nil {
			k.log.Warn("adopt unexpected pid", "pid", op.ChildPID, "err", err)
		}
		if op.PID != 0 {
			k.log.Warn("pid taken by herd-init; retired", "wanted", op.PID, "got", op.ChildPID)
		}
	}
	if op.Thread {
		return
	}
	k.forks.end(parent.TGID, parent.TID)
	c, _ := op.Value.(*cloneRequest)
	if c == nil {
		c = &cloneRequest{exitSignal: int(unix.SIGCHLD)}
	}
	posixParent := parent.TGID
	exitSignal := c.exitSignal
	if c.parent {
		// CLONE_PARENT: the caller's parent, with the caller's exit
		// signal, as copy_process does.
		if p, ok := k.procs.Lookup(posixParent); ok {
			posixParent = p.PPID
			exitSignal = p.ExitSignal
		}
	}
	if err := k.procs.Fork(posixParent, child.TID, exitSignal); err != nil {
		k.log.Warn("record fork", "parent", posixParent, "child", child.TID, "err", err)
	}
	if posixParent == parent.TGID {
		k.creators.set(child.TID, parent.TID)
	}
	if c != nil {
		k.crossedFork(child.TID, c)
	}
	if pol := k.policies[parent.TGID]; pol != "" {
		k.policies[child.TID] = pol
	}
	if op.Flags&unix.CLONE_PIDFD != 0 {
		// clone(CLONE_PIDFD) wrote the new pidfd at parent_tid (arg 2)
		// before this event. Remember its target as pidfd_open does:
		// herd-init reaps the kernel task at once, after which fdinfo
		// no longer names it, but waitid(P_PIDFD) must still find the
		// zombie in the process model.
		var fd int32
		if err := readStruct(liveTask{parent}, parent.Arg(2), &fd); err == nil && fd >= 0 {
			k.rememberPidfd(parent.TID, parent.TGID, int(fd), child.TID)
		}
	}
}

// ThreadExited implements sentry.Hooks: a thread's TID is the
// allocator's alone, the Space does not model threads. Its children pass
// to the thread group (Linux reparents them to a live sibling thread),
// and those that asked for a parent-death signal get it, as in Linux,
// where the death of the creating thread is what fires it.
func (k *Kernel) ThreadExited(tid, tgid int) {
	k.alloc.Free(tid)
	k.forks.end(tgid, tid)
	delete(k.execHere, tid)
	for _, child := range k.creators.children(tid) {
		k.creators.set(child, tgid)
		if sig, err := k.procs.Pdeathsig(child); err == nil && sig != 0 {
			k.signalPID(child, sig, siUser, tgid, 0)
		}
	}
	// Usually the leader's exit ends a node's last process, but a thread
	// the sentry drops as impossible (the sentry's phantom guard) may be the last task.
	k.launches.checkIdle()
}

// Exited implements sentry.Hooks.
func (k *Kernel) Exited(tgid int, status unix.WaitStatus, ru *unix.Rusage) {
	k.pidfds.forget(tgid) // its fd table is gone
	delete(k.policies, tgid)
	delete(k.forks, tgid)
	delete(k.placing, tgid)
	delete(k.execHere, tgid)
	ws, usage := pidspace.WaitStatus(status), rusageOf(ru)
	if k.lane != nil {
		k.exiting[tgid] = true
	}
	record := func() {
		k.ordered(func() func() {
			eff, err := k.procs.Exit(tgid, ws, usage)
			return func() {
				delete(k.exiting, tgid)
				k.exited(tgid, eff, err)
			}
		})
		if k.lane != nil {
			k.launches.programExited(tgid, status)
		}
	}
	// A process placed here from another node is reported exited only
	// once what it wrote to descriptors of that node is written there,
	// and its SEM_UNDO adjustments are applied (ipc_sem.go).
	finish := func() {
		if k.placer != nil && k.placer.Drain(tgid, func() { k.s.Post(record) }) {
			return
		}
		record()
	}
	if k.ipcExited(tgid, finish) {
		return
	}
	finish()
}

// exited carries out a recorded exit of tgid (eff, err from Exit).
func (k *Kernel) exited(tgid int, eff pidspace.Effects, err error) {
	for _, r := range eff.Reparented {
		k.creators.drop(r.PID) // no longer a child of this process's threads
	}
	if err != nil {
		k.log.Debug("record exit", "pid", tgid, "err", err)
	}
	if err := k.procs.KernelGone(tgid); err != nil {
		// Not a process the Space knew (a helper): its PID is ours.
		k.alloc.Free(tgid)
	}
	k.apply(eff)
	k.launches.checkIdle()
}

// Stopped implements sentry.Hooks.
func (k *Kernel) Stopped(tgid, sig int) {
	k.ordered(func() func() {
		eff, err := k.procs.Stopped(tgid, sig)
		return func() { k.recorded("record stop", tgid, eff, err) }
	})
}

// recorded carries out the effects of a recorded change of pid.
func (k *Kernel) recorded(what string, pid int, eff pidspace.Effects, err error) {
	if err != nil {
		k.log.Debug(what, "pid", pid, "err", err)
	}
	k.apply(eff)
}

// JobStops implements sentry.Hooks: POSIX discards terminal stop
// signals sent to an orphaned process group. With Peers, the answer is
// this node's records' (a hook must answer at once): a member's parent
// homed elsewhere is a stub here with its group and session, so the
// usual links (a shell and its jobs on different nodes) are seen.
func (k *Kernel) JobStops(tgid int) bool {
	pgid, err := k.procs.Getpgid(tgid)
	if err != nil {
		return false
	}
	if k.lane != nil && k.space != nil {
		return k.space.LocalGroup(pgid).Linked
	}
	return !k.procs.OrphanedPgrp(pgid)
}

// Continued implements sentry.Hooks.
func (k *Kernel) Continued(tgid int) {
	k.ordered(func() func() {
		eff, err := k.procs.Continued(tgid)
		return func() { k.recorded("record continue", tgid, eff, err) }
	})
}

// The si_code of signals the kernel sends for a process (kill, a parent's
// death) and on its own account (orphaned groups, a terminal).
const (
	siUser   = linux.SI_USER
	siKernel = linux.SI_KERNEL
)

// apply carries out effects in the kernel's order, each signal through
// the Signaller, so a target on another node is the Signaller's to reach;
// then what other nodes' Spaces must learn goes to them (PeerEvents).
func (k *Kernel) apply(eff pidspace.Effects) {
	for _, n := range eff.Notify {
		if n.Parent.Virtual {
			continue // launchers learn through their wait (Retry)
		}
		si := sentry.NewChildSigInfo(n.Info.PID, n.Info.UID, n.Info.Code, n.Info.Status)
		si.SetChildTimes(clockTicks(n.Info.Utime), clockTicks(n.Info.Stime))
		k.signal(n.Parent, n.Signal, &si)
	}
	for _, d := range eff.DeathSignals {
		k.signalAs(d.Target, d.Signal, siUser, d.Sender, 0)
	}
	for _, g := range eff.OrphanedGroups {
		for _, sig := range []unix.Signal{unix.SIGHUP, unix.SIGCONT} {
			for _, m := range g.Members {
				k.signalAs(m, int(sig), siKernel, 0, 0)
			}
		}
	}
	for _, pid := range eff.Reaped {
		k.creators.drop(pid)
		k.pidfdInodes.reaped(pid)
	}
	for _, pid := range eff.Retry {
		k.retryWaits(pid)
	}
	k.sendRemote(eff.Remote)
}

// signalAs delivers sig to target as sent with si_code code by process
// from (0: the kernel) of real uid uid.
func (k *Kernel) signalAs(target pidspace.Target, sig, code, from int, uid uint32) {
	si := sentry.NewSigInfo(sig, code, from, uid)
	k.signal(target, sig, &si)
}

// signalPID is signalAs for a process known by PID only; one the model
// does not know is assumed to run here.
func (k *Kernel) signalPID(pid, sig, code, from int, uid uint32) {
	tg := pidspace.Target{PID: pid, Node: k.node}
	if p, ok := k.procs.Lookup(pid); ok {
		tg = pidspace.Target{PID: p.PID, Node: p.Node, Virtual: p.Virtual}
	}
	k.signalAs(tg, sig, code, from, uid)
}

// signal delivers sig with info to target, logging a failure.
func (k *Kernel) signal(target pidspace.Target, sig int, info *sentry.SigInfo) {
	if err := k.deliver(target, sig, info); err != nil {
		k.log.Debug("deliver signal", "pid", target.PID, "sig", sig, "err", err)
	}
	if target.Node == k.node {
		k.groupExtras(target, sig, info)
	}
}

// deliver delivers sig with info to target through the Signaller. A
// target decided to be here whose process has since gone on to another
// node (placed at its exec; the sentry has no process here) is signalled
// there.
func (k *Kernel) deliver(target pidspace.Target, sig int, info *sentry.SigInfo) error {
	err := k.signals.Signal(target, sig, info)
	if errors.Is(err, unix.ESRCH) && target.Node == k.node && k.space != nil {
		if to, ok := k.space.Moved(target.PID); ok {
			target.Node, target.Home = to, to
			err = k.signals.Signal(target, sig, info)
		}
	}
	return err
}
