// Package pidspace owns the cluster process model: PID allocation from
// leased blocks, process records, the POSIX parent/child tree, wait,
// orphan reparenting and subreapers, process groups and sessions, and
// signal routing by pid, pgid and -1. It is pure logic: no ptrace, no
// system calls, no I/O.
//
// Every sandboxed process is a kernel child of herd-init (the flat kernel
// tree, DESIGN.md decision 3); the POSIX tree lives here, so one code path
// serves processes on this node and on others.
//
// # Calling it from an event loop
//
// The sentry's tracer must never block, so neither does a Space: each call
// takes one short lock and returns. Consequences elsewhere come back as
// Effects (signals with their siginfo, parent-death signals, orphaned
// groups to hang up, waiters to retry) for the caller to carry out. Wait
// returns ErrWouldBlock instead of sleeping; the caller parks the waiter and
// retries it when an Effects.Retry names the waiting process.
//
// # PID lifetime
//
// An Allocator hands out PIDs (BlockAllocator over a BlockSource such as
// LocalBlocks, later Raft). The sentry allocates a PID before clone, and
// registers the process with Fork or Spawn. From then on the Space frees it,
// through Allocator.Free, once nothing refers to it: its record is reaped
// (Wait, or auto-reaping reported in Effects.Reaped), no process uses it as
// a process group or session id, and the sentry has said with KernelGone
// that the kernel task is gone. Until then the number is not reused, as the
// kernel keeps a struct pid alive.
//
// # Homes, stubs and peers
//
// A process's home is the node holding its record, with all per-process
// state (Process.Home): the node it runs on (Process.Node). When a
// record's parent or child is homed on another node, the Space keeps a
// stub of it (Process.Stub): PID, home, node, group, session, credentials
// and, for a child, what wait reports. Changes that concern kin homed
// elsewhere come back as Effects.Remote (PeerEvent); the node sends each
// to its To, whose Space applies it (Apply) and may answer with events of
// its own. A child's exit is thus decided at the
// parent's home (notify, auto-reap, wait), and the child's home drops the
// zombie when told (ChildReaped). Signals in Effects go to Target.Node.
// Group, orphan and kill(-1) decisions ask the other nodes through Peers,
// which the node implements; a Space never calls it under its lock, and
// without Peers a Space is exactly a single node's.
//
// # A record moves with its process
//
// A process placed on another node (at exec, later by migration) takes
// its record along: Export at the old node returns it as a Record, plain
// data for the wire, and leaves a stub there if local kin still link to
// it; Import at the new node makes it a record homed there and tells the
// other kin's nodes where it went (KinChanged). Every call of the process
// is then answered where it runs. Events other nodes sent to the old node
// before they heard are forwarded: Apply there returns them re-addressed
// to the new node, until Returned.
//
// Its PID stays the lease holder's, lent: the old node does not free it,
// and the node where the record is finally removed frees it through its
// own allocator, whose Free hands a PID outside its blocks to the hook set
// with BlockAllocator.SetForeign. The node turns that into a message to
// the lease holder, which frees it there and calls Returned.
//
// # Errors
//
// Methods that mirror a system call (Wait, Setpgid, Setsid, Getpgid,
// Getsid, Getppid, SignalTargets) return bare syscall.Errno values with
// the kernel's precedence, ready for the program. Record-keeping methods
// (Fork, Exit, ...) wrap an Errno with the operation; they fail only when
// the caller's view disagrees with the Space's.
package pidspace
