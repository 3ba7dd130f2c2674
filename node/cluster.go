package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"herd/pidspace"
	"herd/raftstate"
	"herd/remote"
)

// Cluster is the cluster half of a node: its identity, Raft replica, the
// cluster port and the RPCs between nodes. It answers the launcher
// socket's cluster queries (launch.Queries).
type Cluster struct {
	ID     string
	log    *slog.Logger
	creds  *remote.Credentials
	lis    *remote.Listener
	store  *raftstate.Store
	writer *raftstate.Writer
	rpc    *remote.Server
	pool   *remote.Pool
	// local is the node's local half, once attached; the RPCs that read
	// processes need it.
	local *Local
	// alloc is the node's PID allocator (lendPIDs).
	alloc *pidspace.BlockAllocator
	// origins and targets are the descriptors of placed processes
	// (placefds.go): those that left and those that came.
	origins origins
	targets targets
	// drains are the drains in progress, by the node they wait for
	// (loss.go).
	drains drains
	// incarnation names this run of the node (raftstate.Member).
	incarnation uint64
}

// openCluster gives the node its identity, opens its Raft replica on the
// cluster port, and makes it a member (or refreshes its record when it
// restarts). Close it when done.
func openCluster(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	hosts, err := advertiseHosts(cfg.advertised())
	if err != nil {
		return nil, err
	}
	cpus, mem, err := offered(cfg.CPUs, cfg.Memory)
	if err != nil {
		return nil, err
	}
	creds, err := identity(ctx, &cfg, hosts)
	if err != nil {
		return nil, err
	}
	cn := &Cluster{ID: creds.NodeID, log: cfg.Log.With("node", creds.NodeID), creds: creds, incarnation: uint64(time.Now().UnixNano())}
	cn.origins.self = cn.ID
	if err := cn.open(&cfg); err != nil {
		return nil, err
	}
	go cn.watchLiveness(ctx, cfg.SuspectAfter/3)
	self := raftstate.Member{ID: cn.ID, Address: cfg.advertised(), CPUs: len(cpus), CPUList: cpus, MemoryBytes: mem, Incarnation: cn.incarnation}
	if err := cn.becomeMember(ctx, &cfg, self); err != nil {
		cn.Close()
		return nil, fmt.Errorf("node %s: %w", cn.ID, err)
	}
	cn.log.Info("herd node: member", "address", self.Address, "members", len(cn.store.Members()))
	return cn, nil
}

// open starts the cluster port, the Raft replica and the RPC server.
func (cn *Cluster) open(cfg *Config) error {
	lcfg := remote.ListenerConfig{Credentials: cn.creds, Logger: cn.log}
	auth, err := authority(cfg, cn.log)
	if err != nil {
		return err
	}
	if auth != nil {
		lcfg.Join = auth
	}
	if cn.lis, err = remote.Listen(cfg.Listen, lcfg); err != nil {
		return err
	}
	et := cfg.ElectionTimeout
	cn.store, err = raftstate.Open(raftstate.Config{
		NodeID:             cn.ID,
		DataDir:            filepath.Join(cfg.DataDir, RaftDir),
		StreamLayer:        cn.lis.Raft(),
		Voters:             cfg.Voters,
		HeartbeatTimeout:   et,
		ElectionTimeout:    et,
		LeaderLeaseTimeout: et / 2,
		SuspectAfter:       cfg.SuspectAfter,
		DownAfter:          cfg.DownAfter,
		Logger:             cfg.Log,
	})
	if err != nil {
		cn.lis.Close()
		return err
	}
	cn.pool = remote.NewPool(cn.creds)
	cn.writer = raftstate.NewWriter(cn.store, Forwarder{cn.pool})
	cn.rpc = remote.NewServer(cn.log)
	ServeForward(cn.rpc, cn.store)
	go cn.rpc.Serve(cn.lis)
	return nil
}

// becomeMember bootstraps a new cluster or joins one, then waits until
// the replica has everything (the node's old leases among it).
func (cn *Cluster) becomeMember(ctx context.Context, cfg *Config, self raftstate.Member) error {
	var err error
	if cfg.Bootstrap && !cn.store.HadState() {
		err = cn.store.Bootstrap(ctx, self)
	} else {
		err = cn.join(ctx, cfg.Join, self)
	}
	if err != nil {
		return err
	}
	return cn.writer.Sync(ctx)
}

// Writer writes to the cluster's Raft state from any node.
func (cn *Cluster) Writer() *raftstate.Writer { return cn.writer }

// Addr is the cluster port's address.
func (cn *Cluster) Addr() string { return cn.lis.Addr().String() }

// Attach gives the cluster half its local half and starts serving the
// RPCs that need it and the heartbeats, every heartbeat period.
func (cn *Cluster) Attach(ctx context.Context, l *Local, heartbeat time.Duration) {
	cn.local = l
	cn.registerRPCs()
	go cn.heartbeats(ctx, heartbeat)
}

// Close leaves leadership to another voter and stops Raft and the port.
func (cn *Cluster) Close() {
	if err := cn.store.TransferLeadership(); err != nil {
		cn.log.Debug("stop", "err", err)
	}
	if err := cn.store.Shutdown(); err != nil {
		cn.log.Warn("stop", "err", err)
	}
	cn.rpc.Close()
	cn.pool.Close()
	cn.lis.Close()
}
