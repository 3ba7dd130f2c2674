package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"

	"herd/ipc"
	"herd/launch"
	"herd/node/procfs"
	"herd/pidspace"
	"herd/procview"
	"herd/sentry"
	"herd/syscalls"
)

// Local is the node-local half of a node, in pid 1 of its namespace (in
// the daemon and in herd run's embedded node alike): the process model,
// the emulated kernel and the sentry. It runs programs for the launcher
// socket (launch.Runner).
type Local struct {
	sentry *sentry.Sentry
	kernel *syscalls.Kernel
	// clustered: the node belongs to a cluster, whose other nodes
	// processes may be placed on.
	clustered bool
	// self reads the node's own figures for the cluster view; view is
	// that view, mounted over the kernel's files (nil without FUSE).
	self *self
	view *procfs.View
	// ipc is the node's System V IPC service (message queues).
	ipc *ipc.Service
}

// firstBlockTimeout bounds the wait for the node's first PID block.
const firstBlockTimeout = 30 * time.Second

// startLocal assembles and starts the node-local half in pid 1 (after
// sentry.BecomeInit): PIDs come from alloc, whose first block it waits
// for, so that the first launch does not wait for a lease on the tracer
// thread. strace, if not nil, gets a line per trapped syscall.
func startLocal(name string, alloc *pidspace.BlockAllocator, placer syscalls.ExecPlacer, strace io.Writer, log *slog.Logger) (*Local, error) {
	ctx, cancel := context.WithTimeout(context.Background(), firstBlockTimeout)
	err := alloc.Ready(ctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	space := pidspace.NewSpace(name, alloc)
	if err := space.AddInit(); err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	k := syscalls.NewKernel(name, space, alloc, log)
	svc := ipc.NewService(name, ipc.DefaultLimits)
	k.SetIPC(svc)
	if placer != nil {
		k.SetPlacer(placer)
	}
	s, err := sentry.New(sentry.Config{Table: k.Table(), Hooks: k, Log: log, Strace: strace})
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	k.Attach(s)
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	return &Local{sentry: s, kernel: k, clustered: placer != nil, ipc: svc}, nil
}

// Space is the node's process model; read it only on the tracer thread
// or through its own locking (pidspace.Space.List).
func (l *Local) Space() *pidspace.Space { return l.kernel.Space() }

// Launch implements launch.Runner: it runs the request on the tracer
// thread and returns at once.
func (l *Local) Launch(req *launch.Request, started func(pid, launcher int, err error), exited func(unix.WaitStatus)) {
	spec := sentry.SpawnSpec{
		Path: req.Path, Argv: req.Argv, Env: req.Env, Dir: req.Dir,
		UID: req.UID, GID: req.GID, Groups: req.Groups,
		Stdio:      req.Stdio,
		Foreground: req.Foreground, Session: req.Session, Ignored: req.Ignored,
	}
	if err := l.checkPolicy(req.Placement); err != nil {
		started(0, 0, err)
		return
	}
	uid, gid := req.UID, req.GID
	creds := pidspace.Creds{RUID: uid, EUID: uid, SUID: uid, RGID: gid, EGID: gid, SGID: gid}
	parent := standInSpec(req)
	spec.Attrs = parent.Attrs
	l.sentry.Post(func() {
		l.kernel.Launch(spec, parent, creds, func(pid int, err error) {
			if err != nil {
				started(0, 0, err)
				return
			}
			l.kernel.SetPolicy(pid, req.Placement)
			started(pid, l.kernel.LauncherOf(pid), nil)
		}, exited)
	})
}

// checkPolicy checks a launch's placement policy: any on a cluster's
// node, only local on a node without a cluster.
func (l *Local) checkPolicy(policy string) error {
	if err := CheckPolicy(policy); err != nil {
		return err
	}
	if !l.clustered && policy != "" && policy != PlaceLocal {
		return fmt.Errorf("placement %s needs a cluster: this node runs alone (start a node daemon)", policy)
	}
	return nil
}

// standInSpec is the launcher's stand-in for req: the caller's identity
// (from the socket) and what the launcher said of itself.
func standInSpec(req *launch.Request) sentry.StandInSpec {
	st := sentry.StandInSpec{Comm: "herd", Dir: req.Dir, UID: req.UID, GID: req.GID, Groups: req.Groups}
	p := req.Parent
	if p == nil {
		return st
	}
	if p.Comm != "" {
		st.Comm = p.Comm
	}
	st.Args, st.Attrs = p.Args, p.Attrs
	return st
}

// Signal implements launch.Runner.
func (l *Local) Signal(launcher, sig int) {
	l.sentry.Post(func() { l.kernel.SignalLaunch(launcher, sig) })
}

// OnIdle calls f (once, on the tracer thread) when no launch and no task
// is left.
func (l *Local) OnIdle(f func()) {
	l.sentry.Post(func() { l.kernel.OnIdle(f) })
}

// Post runs f on the tracer thread, in the order posted.
func (l *Local) Post(f func()) { l.sentry.Post(f) }

// ApplyPeerEvent applies an event from another node's Space (tracer
// thread; see syscalls.Kernel.ApplyPeerEvent).
func (l *Local) ApplyPeerEvent(ev pidspace.PeerEvent) { l.kernel.ApplyPeerEvent(ev) }

// DeliverFromPeer delivers a signal another node sent to a process here
// (tracer thread).
func (l *Local) DeliverFromPeer(pid, sig int, info *sentry.SigInfo, group pidspace.GroupSend) error {
	return l.kernel.DeliverFromPeer(pid, sig, info, group)
}

// KillFrom decides a kill another node asks about (tracer thread).
func (l *Local) KillFrom(req syscalls.KillRequest) (string, error) { return l.kernel.KillFrom(req) }

// showView mounts the cluster view, from src, over the kernel's files in
// the node's mount namespace (before any program runs); the node reads
// its own figures from the kernel's procfs, which the view leaves
// uncovered. Without FUSE the kernel's files stay (logged). sysinfo and
// the affinity calls answer from the same figures either way.
func (l *Local) showView(name string, src func(l *Local) procfs.Source, log *slog.Logger) error {
	kernel, ok := kernelProc(log)
	me, err := newSelf(name, kernel)
	if err != nil {
		return err
	}
	l.self = me
	figures := procfs.NewCache(procfs.Config{Source: src(l), Log: log})
	l.sentry.Post(func() { l.kernel.SetFigures(procfs.Recent{Cache: figures}) })
	if ok {
		l.view = mountView(figures, log)
	}
	return nil
}

// ownView is the cluster view of a node alone: its own figures.
func ownView(l *Local) procfs.Source {
	return func(context.Context) ([]procview.NodeStat, error) {
		st, err := l.self.stat()
		if err != nil {
			return nil, err
		}
		return []procview.NodeStat{*st}, nil
	}
}

// Close unmounts the node's cluster view.
func (l *Local) Close() error { return l.view.Close() }
