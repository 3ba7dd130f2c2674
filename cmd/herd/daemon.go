package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/raftstate"
	"herd/remote"
	"herd/sentry"
)

// Layout of a node's --data-dir.
const (
	caDir      = "ca"          // the cluster CA (bootstrap node only)
	tlsDir     = "tls"         // this node's certificate and key
	raftDir    = "raft"        // Raft log, stable store and snapshots
	tokensFile = "tokens.json" // join tokens (CA holders only)
	// tokenFile holds a join token made at this start (CA holders only),
	// for scripts such as herd cluster up.
	tokenFile = "join-token"
)

// clusterNode is the cluster half of a daemon: its Raft replica, the
// cluster port and the RPCs between nodes.
type clusterNode struct {
	id     string
	log    *slog.Logger
	creds  *remote.Credentials
	lis    *remote.Listener
	store  *raftstate.Store
	writer *raftstate.Writer
	rpc    *remote.Server
	pool   *remote.Pool
	local  *localNode
}

// forwarder sends Raft writes to the leader over herd RPC.
type forwarder struct{ pool *remote.Pool }

func (f forwarder) Forward(ctx context.Context, addr string, req *raftstate.ForwardRequest) (*raftstate.ForwardResponse, error) {
	var resp raftstate.ForwardResponse
	if err := f.pool.Client(addr).Call(ctx, remote.MsgForward, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// daemonMain is the node daemon, pid 1 of the node's namespace.
func daemonMain(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cli.Exit(fmt.Sprintf("herd node: --log-level: %v", err), 2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := sentry.BecomeInit(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stop cleanly on SIGTERM or SIGINT at any point, even while joining.
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		cancel()
	}()

	cn, err := openCluster(ctx, c, log)
	if err != nil {
		return err
	}
	defer cn.close()

	// PIDs: leased through Raft; the allocator keeps a reserve so that
	// fork never waits for a commit.
	alloc := pidspace.NewBlockAllocator(ctx, raftstate.NewPIDBlocks(cn.writer), 0)
	n, err := startLocalNode(cn.id, alloc, nil, log)
	if err != nil {
		return err
	}
	n.cluster = cn
	cn.local = n
	cn.rpc.Handle(remote.MsgProcs, cn.handleProcs)
	cn.rpc.Handle(remote.MsgStatus, cn.handleStatus)
	go cn.heartbeats(ctx, c.Duration("suspect-after")/3)

	sock := c.String("socket")
	lfd, err := listenUnix(sock)
	if err != nil {
		return err
	}
	go n.serveLaunchers(lfd)
	log.Info("herd node: serving", "node", cn.id, "listen", cn.lis.Addr().String(), "socket", sock)

	<-ctx.Done()
	log.Info("herd node: stopping", "node", cn.id)
	unix.Shutdown(lfd, unix.SHUT_RDWR)
	unix.Close(lfd)
	os.Remove(sock)
	return nil
}

// openCluster gives the node its identity (a new cluster's CA, or a
// certificate obtained with a join token, or the one in --data-dir), opens
// its Raft replica on the cluster port, and makes it a member.
func openCluster(ctx context.Context, c *cli.Context, log *slog.Logger) (*clusterNode, error) {
	dir := c.String("data-dir")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	addr := c.String("listen")
	if a := c.String("advertise"); a != "" {
		addr = a
	}
	hosts, err := advertiseHosts(addr)
	if err != nil {
		return nil, err
	}
	cpus, mem, err := nodeResources(c.String("cpus"), c.String("memory"))
	if err != nil {
		return nil, err
	}

	creds, err := remote.LoadCredentials(filepath.Join(dir, tlsDir))
	switch {
	case err == nil:
		if name := c.String("name"); name != "" && name != creds.NodeID {
			return nil, fmt.Errorf("data dir %s belongs to node %q, not %q", dir, creds.NodeID, name)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case c.Bool("bootstrap"):
		creds, err = newClusterIdentity(dir, nameOr(c), hosts)
	case c.String("join") != "":
		creds, err = remote.Join(ctx, c.String("join"), c.String("token"), nameOr(c), hosts)
		if err == nil {
			err = creds.Save(filepath.Join(dir, tlsDir))
		}
	default:
		return nil, cli.Exit(fmt.Sprintf("herd node: %s holds no node identity: give --bootstrap or --join", dir), 2)
	}
	if err != nil {
		return nil, err
	}
	cn := &clusterNode{id: creds.NodeID, log: log.With("node", creds.NodeID), creds: creds}
	cfg := remote.ListenerConfig{Credentials: creds, Logger: cn.log}
	if ca, err := remote.LoadCA(filepath.Join(dir, caDir)); err == nil {
		tokens, err := remote.OpenTokenStore(filepath.Join(dir, tokensFile))
		if err != nil {
			return nil, err
		}
		cfg.Join = &remote.Authority{CA: ca, Tokens: tokens, Logger: cn.log}
		tok, err := tokens.Create(ca.Fingerprint(), 0)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, tokenFile), []byte(tok.String()+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write join token: %w", err)
		}
		fmt.Printf("herd node: join other nodes with:\n  herd node --data-dir DIR --listen HOST:PORT --join %s --token %s\n", addr, tok)
	}
	if cn.lis, err = remote.Listen(c.String("listen"), cfg); err != nil {
		return nil, err
	}
	et := c.Duration("election-timeout")
	cn.store, err = raftstate.Open(raftstate.Config{
		NodeID:             cn.id,
		DataDir:            filepath.Join(dir, raftDir),
		StreamLayer:        cn.lis.Raft(),
		Voters:             c.Int("voters"),
		HeartbeatTimeout:   et,
		ElectionTimeout:    et,
		LeaderLeaseTimeout: et / 2,
		SuspectAfter:       c.Duration("suspect-after"),
		DownAfter:          c.Duration("down-after"),
		Logger:             log,
	})
	if err != nil {
		cn.lis.Close()
		return nil, err
	}
	cn.pool = remote.NewPool(creds)
	cn.writer = raftstate.NewWriter(cn.store, forwarder{cn.pool})
	cn.rpc = remote.NewServer(cn.log)
	cn.rpc.Handle(remote.MsgForward, cn.handleForward)
	go cn.rpc.Serve(cn.lis)
	go cn.watchLiveness(ctx, c.Duration("suspect-after")/3)

	self := raftstate.Member{ID: cn.id, Address: addr, CPUs: len(cpus), CPUList: cpus, MemoryBytes: mem}
	if c.Bool("bootstrap") && !cn.store.HadState() {
		err = cn.store.Bootstrap(ctx, self)
	} else {
		err = cn.join(ctx, c.String("join"), self)
	}
	if err == nil {
		// Read the replica only once it has everything (our old leases).
		err = cn.writer.Sync(ctx)
	}
	if err != nil {
		cn.close()
		return nil, fmt.Errorf("node %s: %w", cn.id, err)
	}
	cn.log.Info("herd node: member", "address", addr, "members", len(cn.store.Members()))
	return cn, nil
}

func nameOr(c *cli.Context) string {
	if n := c.String("name"); n != "" {
		return n
	}
	return nodeName()
}

// newClusterIdentity makes the cluster CA and this node's certificate.
func newClusterIdentity(dir, id string, hosts []string) (*remote.Credentials, error) {
	if err := remote.ValidateNodeID(id); err != nil {
		return nil, err
	}
	ca, err := remote.NewCA()
	if err != nil {
		return nil, err
	}
	if err := ca.Save(filepath.Join(dir, caDir)); err != nil {
		return nil, err
	}
	creds, err := ca.Issue(id, hosts)
	if err != nil {
		return nil, err
	}
	return creds, creds.Save(filepath.Join(dir, tlsDir))
}

// join makes this node a member (or refreshes its record when it
// restarts): through the leader it knows of, else through via, the node
// given by --join, which answers with the leader's address when it does
// not lead itself.
func (cn *clusterNode) join(ctx context.Context, via string, self raftstate.Member) error {
	req := &raftstate.ForwardRequest{Join: &self}
	target := via
	var last error = errors.New("no leader known yet")
	for {
		if addr, id := cn.store.Leader(); id == cn.id {
			resp := cn.store.ServeForwarded(ctx, cn.id, req)
			if resp.Err == "" {
				return cn.store.WaitApplied(ctx, resp.Index)
			}
			last = errors.New(resp.Err)
		} else if id != "" {
			target = addr
		}
		next := via
		if target != "" {
			resp, err := forwarder{cn.pool}.Forward(ctx, target, req)
			switch {
			case err != nil:
				last = err
			case resp.NotLeader:
				last = errors.New(resp.Err)
				if resp.Leader != "" {
					next = resp.Leader
				}
			case resp.Err != "":
				return fmt.Errorf("join: %s", resp.Err)
			default:
				return cn.store.WaitApplied(ctx, resp.Index)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("join: %w (last attempt: %v)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
		target = next
	}
}

// handleForward serves MsgForward: a write for the leader. A node that
// does not lead answers NotLeader with the leader's address.
func (cn *clusterNode) handleForward(ctx context.Context, req *remote.Request) (any, error) {
	var fr raftstate.ForwardRequest
	if err := req.Decode(&fr); err != nil {
		return nil, err
	}
	return cn.store.ServeForwarded(ctx, req.Peer, &fr), nil
}

// handleProcs serves MsgProcs: this node's process records.
func (cn *clusterNode) handleProcs(ctx context.Context, req *remote.Request) (any, error) {
	return &remote.ProcsResponse{Node: cn.id, Procs: cn.procs()}, nil
}

func (cn *clusterNode) procs() []remote.ProcInfo {
	return remote.ProcTable(cn.id, cn.local.k.Space().List(), "/proc")
}

// handleStatus serves MsgStatus: this node's load.
func (cn *clusterNode) handleStatus(ctx context.Context, req *remote.Request) (any, error) {
	return cn.status(), nil
}

func (cn *clusterNode) status() *remote.NodeStatus {
	st := &remote.NodeStatus{Node: cn.id, Procs: len(cn.procs())}
	st.Load, _ = remote.ReadLoad("/proc")
	return st
}

// heartbeats tells the leader this node lives, every period.
func (cn *clusterNode) heartbeats(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, period)
		if err := cn.writer.Heartbeat(hctx); err != nil && ctx.Err() == nil {
			cn.log.Debug("heartbeat", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchLiveness, on the leader, commits the up/suspect/down changes the
// heartbeats call for.
func (cn *clusterNode) watchLiveness(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !cn.store.IsLeader() {
			continue
		}
		cn.store.Heartbeat(cn.id)
		lctx, cancel := context.WithTimeout(ctx, 5*period)
		if _, err := cn.store.CheckLiveness(lctx); err != nil && !errors.Is(err, raftstate.ErrNotLeader) && ctx.Err() == nil {
			cn.log.Warn("check liveness", "err", err)
		}
		cancel()
	}
}

// close leaves leadership to another voter and stops Raft and the port.
func (cn *clusterNode) close() {
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

// queryTimeout bounds asking one node for its processes or status.
const queryTimeout = 2 * time.Second

// serveQuery answers herd nodes, herd ps and herd nodes remove.
func (cn *clusterNode) serveQuery(c *ctlConn, m ctlMsg) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*queryTimeout)
	defer cancel()
	switch m.Op {
	case "nodes":
		rows, errs := cn.nodeRows(ctx)
		c.send(ctlMsg{Op: "nodes", Nodes: rows, Errors: errs})
	case "ps":
		procs, errs := cn.clusterProcs(ctx, m.Node)
		const chunk = 256 // a SEQPACKET message must fit the socket buffer
		for len(procs) > chunk {
			if c.send(ctlMsg{Op: "procs", Procs: procs[:chunk], More: true}) != nil {
				return
			}
			procs = procs[chunk:]
		}
		c.send(ctlMsg{Op: "procs", Procs: procs, Errors: errs})
	case "remove":
		uid, _, _, err := peerCreds(c.fd)
		if err == nil && uid != 0 {
			err = errors.New("removing a node needs root")
		}
		if err == nil {
			err = cn.writer.Leave(ctx, m.Node)
		}
		if err != nil {
			c.send(ctlMsg{Op: "error", Error: err.Error()})
			return
		}
		c.send(ctlMsg{Op: "ok"})
	}
}

// eachMember calls f for every member (or only node, if given) in
// parallel, with a per-node timeout; it returns the errors, by node.
func (cn *clusterNode) eachMember(ctx context.Context, node string, f func(ctx context.Context, m raftstate.Member) error) []string {
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for _, m := range cn.store.Members() {
		if node != "" && m.ID != node {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			qctx, cancel := context.WithTimeout(ctx, queryTimeout)
			defer cancel()
			if err := f(qctx, m); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %v", m.ID, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(errs)
	return errs
}

// clusterProcs gathers the process tables of the nodes, sorted by PID.
func (cn *clusterNode) clusterProcs(ctx context.Context, node string) ([]remote.ProcInfo, []string) {
	if node != "" {
		if _, ok := cn.store.FSM().Member(node); !ok {
			return nil, []string{fmt.Sprintf("%s: no such node", node)}
		}
	}
	var (
		mu  sync.Mutex
		all []remote.ProcInfo
	)
	errs := cn.eachMember(ctx, node, func(ctx context.Context, m raftstate.Member) error {
		var ps []remote.ProcInfo
		if m.ID == cn.id {
			ps = cn.procs()
		} else {
			var resp remote.ProcsResponse
			if err := cn.pool.Client(m.Address).Call(ctx, remote.MsgProcs, nil, &resp); err != nil {
				return err
			}
			ps = resp.Procs
		}
		mu.Lock()
		all = append(all, ps...)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(all, func(a, b remote.ProcInfo) int { return a.PID - b.PID })
	return all, errs
}

// nodeRows lists the members with their live load, asked of each node
// that is not down.
func (cn *clusterNode) nodeRows(ctx context.Context) ([]nodeRow, []string) {
	servers, _ := cn.store.Servers()
	_, leader := cn.store.Leader()
	leases := cn.store.Leases()
	var (
		mu   sync.Mutex
		rows []nodeRow
	)
	errs := cn.eachMember(ctx, "", func(ctx context.Context, m raftstate.Member) error {
		row := nodeRow{ID: m.ID, Address: m.Address, State: string(m.State), CPUs: m.CPUs, CPUList: m.CPUList,
			MemoryBytes: m.MemoryBytes, StateSince: m.StateSince, Role: "non-voter", PIDBlocks: [][2]int{}}
		for _, l := range leases {
			if l.Node == m.ID {
				row.PIDBlocks = append(row.PIDBlocks, [2]int{l.Block.Start, l.Block.End()})
			}
		}
		for _, s := range servers {
			if string(s.ID) == m.ID && s.Suffrage == raft.Voter {
				row.Role = "voter"
			}
		}
		if m.ID == leader {
			row.Role = "leader"
		}
		var err error
		if m.State != raftstate.StateDown {
			var st *remote.NodeStatus
			if m.ID == cn.id {
				st = cn.status()
			} else {
				st = new(remote.NodeStatus)
				err = cn.pool.Client(m.Address).Call(ctx, remote.MsgStatus, nil, st)
			}
			if err == nil {
				row.Load, row.Procs = &st.Load, &st.Procs
			}
		}
		mu.Lock()
		rows = append(rows, row)
		mu.Unlock()
		return err
	})
	slices.SortFunc(rows, func(a, b nodeRow) int { return strings.Compare(a.ID, b.ID) })
	return rows, errs
}
