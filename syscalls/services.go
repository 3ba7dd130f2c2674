package syscalls

import (
	"context"
	"errors"
	"fmt"

	"herd/pidspace"
	"herd/sentry"
)

// The services below are what the handlers and hooks use of the world
// outside the calling task: the process model, signal delivery and
// placement. Each is an interface so that a node can answer from its
// local records today and route to the process's home node later, without
// the handlers changing.
//
// Common contract: the Kernel calls every method on the sentry's tracer
// thread, one call at a time, while a task is stopped, unless the method
// says otherwise. The exception: the handlers of notified rows
// (sentry.Notify: getppid, getpgid, getpgrp, getsid) call Groups' Getppid,
// Getpgid and Getsid from the sentry's notification receivers, on their
// own threads, concurrently with the tracer thread: those three must be
// safe from any goroutine (the Space locks) and answer without waiting. A method must
// answer promptly: it may take short locks, but must not wait for another
// node or for a task to run, since the whole node's tracing waits with it
// (an answer that needs a peer is the job of an asynchronous action in
// the sentry, which parks the task). No method may call back into the
// Kernel or the sentry synchronously; work for the tracer thread is
// queued with sentry.Sentry.Post.

// ProcessModel is the POSIX process tree: records, waits, groups and
// sessions, and the attributes handlers read and set. *pidspace.Space is
// the node-local implementation. Its methods are safe to call from any
// goroutine (the Space locks); they never call back. Without Peers they
// never block on I/O and the Kernel calls them on the tracer thread.
// With Peers set (Kernel.SetPeers), SignalTargets for pid <= 0, Exit,
// OrphanedPgrp and the Apply of some events may wait for other nodes:
// the Kernel then calls those off the tracer thread (an asynchronous
// action, or its ordered lane, see peers.go). Errors are
// unix.Errno values (or wrap one) that the handler returns as is.
type ProcessModel interface {
	Records
	Waits
	Groups
	Attributes
}

// Records are the lifecycle records the hooks and the launcher write:
// what the sentry saw happen to a process. Each returns the Effects the
// Kernel must carry out (signals, retried waits) in order.
type Records interface {
	Lookup(pid int) (pidspace.Process, bool)
	AddVirtual(pid int, creds pidspace.Creds, comm string) error
	Spawn(a pidspace.SpawnArgs) error
	Fork(parent, child, exitSignal int) error
	Exec(pid int, comm, args string) error
	Exit(pid int, status pidspace.WaitStatus, usage pidspace.Rusage) (pidspace.Effects, error)
	KernelGone(pid int) error
	Stopped(pid, sig int) (pidspace.Effects, error)
	Continued(pid int) (pidspace.Effects, error)
}

// Waits answers wait4 and waitid for a caller. Wait returns
// pidspace.ErrWouldBlock when a child may yet report; the Kernel then
// parks the caller and calls Wait again when Effects.Retry names it.
// ChildrenRusage is the usage of the caller's reaped children.
type Waits interface {
	Wait(caller int, req pidspace.WaitRequest) (pidspace.WaitResult, error)
	ChildrenRusage(pid int) (pidspace.Rusage, error)
}

// Groups are process groups, sessions and the signal targets they
// imply, with Linux's permission rules applied for sender.
type Groups interface {
	Getppid(pid int) (int, error)
	Setpgid(caller, pid, pgid int) error
	Setsid(caller int) (int, error)
	Getpgid(pid int) (int, error)
	Getsid(pid int) (int, error)
	OrphanedPgrp(pgid int) bool
	SignalTargets(sender, pid, sig int) ([]pidspace.Target, error)
}

// Attributes are per-process settings kept in the model because they act
// on the POSIX tree: credentials (for permission checks and si_uid), the
// SIGCHLD disposition, subreaper and parent-death signal.
type Attributes interface {
	SetCreds(pid int, c pidspace.Creds) error
	SetSigchldAction(pid int, a pidspace.SigchldAction) error
	SetSubreaper(pid int, on bool) error
	Subreaper(pid int) (bool, error)
	SetPdeathsig(pid, sig int) error
	Pdeathsig(pid int) (int, error)
}

var _ ProcessModel = (*pidspace.Space)(nil)

// Signaller delivers a signal to a process wherever it lives. Signal
// makes target's thread group receive sig with info (the sender's
// siginfo, as sentry.NewSigInfo builds it). It is called on the tracer
// thread and must not block: an implementation that sends to another
// node queues the message and returns; it reports only what it knows at
// once (ErrElsewhere if it cannot reach target's node, ESRCH from the
// local sentry). It must not call back into the Kernel.
type Signaller interface {
	Signal(target pidspace.Target, sig int, info *sentry.SigInfo) error
}

// ErrElsewhere is a Signaller's answer for a target on a node it cannot
// reach; the node-local Signaller gives it for every other node.
var ErrElsewhere = errors.New("process runs on another node")

// LocalSignaller is the node-local Signaller: it signals processes of
// its node through the sentry and answers ErrElsewhere for the rest.
type LocalSignaller struct {
	Node   string
	Sentry *sentry.Sentry
}

// Signal implements Signaller.
func (l LocalSignaller) Signal(target pidspace.Target, sig int, info *sentry.SigInfo) error {
	if target.Node != l.Node {
		return fmt.Errorf("signal %d to %d on %s: %w", sig, target.PID, target.Node, ErrElsewhere)
	}
	return l.Sentry.Signal(target.PID, sig, info)
}

// PeerEvents carries what this node's Space must tell the Spaces of
// other nodes (Effects.Remote) to them. Send is called on the tracer
// thread and must not block: it queues the events, which are then
// delivered to each destination in the order Send was given them and
// applied there with the receiver's Kernel.ApplyPeerEvent. Delivery is
// retried until it succeeds or the destination is declared down.
type PeerEvents interface {
	Send(events []pidspace.PeerEvent)
}

// KillRequest is a process-directed signal (kill, rt_sigqueueinfo) to a
// PID this node's Space does not hold, as the node that holds it decides
// it (Kernel.KillFrom): the sender's identity for the permission check
// and the siginfo its target gets.
type KillRequest struct {
	Sender, SenderSID int
	Creds             pidspace.Creds
	PID, Sig          int
	// Queued: Info is the caller's own siginfo (rt_sigqueueinfo).
	Queued bool
	Info   sentry.SigInfo
}

// RemoteKills reaches the node that holds a PID this node's Space does
// not know.
type RemoteKills interface {
	// KillHolder names the node that holds pid (its lease holder, or
	// where it was lent), "" if none but this one: then the PID does not
	// exist. Tracer thread; must answer at once.
	KillHolder(pid int) string
	// Kill asks node to decide and deliver req; its error is the call's
	// errno. It blocks for a round trip: called off the tracer thread
	// (from an asynchronous action), until ctx ends.
	Kill(ctx context.Context, node string, req KillRequest) error
}

// Placement chooses the node on which a new process runs. PlaceFork is
// asked, on the tracer thread, for every fork (not a new thread) by
// process parent, and must answer at once without calling back. Today
// the child always runs where its parent does: an answer other than the
// Kernel's own node is logged and the child still runs here, until
// migration at fork exists.
type Placement interface {
	PlaceFork(parent int) (node string)
}

// LocalPlacement places every process on the node it names.
type LocalPlacement string

// PlaceFork implements Placement.
func (n LocalPlacement) PlaceFork(int) string { return string(n) }
