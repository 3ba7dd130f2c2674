package node

import (
	"context"
	"os"

	"golang.org/x/sys/unix"

	"herd/launch"
	"herd/node/procfs"
	"herd/pidspace"
	"herd/raftstate"
	"herd/sentry"
)

// Run is a node daemon. It must run as pid 1 of a new PID and mount
// namespace (sentry.StartInit starts one). It joins or starts the cluster
// of cfg, starts the node's local half with PIDs leased through Raft, and
// serves the launcher socket until ctx ends; then it leaves Raft
// leadership to another voter and stops. The node stays a member.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Check(); err != nil {
		return &UsageError{err.Error()}
	}
	cfg = cfg.withDefaults()
	if err := sentry.BecomeInit(); err != nil {
		return err
	}
	cn, err := openCluster(ctx, cfg)
	if err != nil {
		return err
	}
	defer cn.Close()
	// PIDs: leased through Raft; the allocator keeps a reserve so that
	// fork never waits for a commit.
	alloc := pidspace.NewBlockAllocator(ctx, raftstate.NewPIDBlocks(cn.Writer()), 0)
	cn.lendPIDs(ctx, alloc)
	l, err := startLocal(cn.ID, alloc, newPlacer(cn), nil, cfg.Log)
	if err != nil {
		return err
	}
	if err := l.showView(cn.ID, func(*Local) procfs.Source { return cn.viewSource() }, cfg.Log); err != nil {
		return err
	}
	defer l.Close()
	cn.Attach(ctx, l, cfg.SuspectAfter/3)
	cn.attachPeers(ctx, l)

	lfd, err := launch.Listen(cfg.Socket)
	if err != nil {
		return err
	}
	srv := &launch.Server{Runner: l, Queries: cn}
	go srv.Serve(lfd)
	cfg.Log.Info("herd node: serving", "node", cn.ID, "listen", cn.Addr(), "socket", cfg.Socket)

	<-ctx.Done()
	cfg.Log.Info("herd node: stopping", "node", cn.ID)
	unix.Shutdown(lfd, unix.SHUT_RDWR)
	unix.Close(lfd)
	os.Remove(cfg.Socket)
	return nil
}
