package raftstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"herd/pidspace"
)

// ErrNotLeader is wrapped by writes attempted on a follower.
var ErrNotLeader = raft.ErrNotLeader

// Config configures a Store.
type Config struct {
	// NodeID is this node's id: its Raft server id and member id. Required.
	NodeID string
	// DataDir holds raft.db (log and stable store) and the snapshots.
	// Required; created 0700 if missing.
	DataDir string

	// StreamLayer carries Raft traffic (the daemon passes remote's TLS
	// stream layer, whose Addr is the node's cluster port). If nil, Open
	// listens on BindAddr with plain TCP, for tests and trusted networks.
	StreamLayer raft.StreamLayer
	BindAddr    string
	// AdvertiseAddr is the address other nodes dial when BindAddr is not
	// dialable itself (e.g. 0.0.0.0:7946). Only with BindAddr.
	AdvertiseAddr string

	// Voters is how many nodes vote (DefaultVoters if 0); odd, normally 3 or 5.
	Voters int

	// Raft timing; hashicorp/raft's defaults (tuned for a LAN) if zero.
	// Loopback tests use a few hundred milliseconds.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// SnapshotThreshold and SnapshotInterval: raft's defaults if zero.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration

	// ApplyTimeout bounds a write when its context has no deadline
	// (default 5s).
	ApplyTimeout time.Duration

	// Cluster is the cluster config Bootstrap commits (DefaultClusterConfig
	// if zero).
	Cluster ClusterConfig

	// Liveness thresholds (DefaultSuspectAfter, DefaultDownAfter if zero).
	SuspectAfter time.Duration
	DownAfter    time.Duration

	// Logger receives this package's and raft's logs (slog.Default() if nil).
	Logger *slog.Logger
	// RaftLogLevel filters raft's own logs: "debug", "info", "warn" (default)
	// or "error".
	RaftLogLevel string
}

// Store is one node's replica of the cluster state: a raft node with its
// FSM, storage and transport.
type Store struct {
	cfg      Config
	log      *slog.Logger
	fsm      *FSM
	raft     *raft.Raft
	trans    *raft.NetworkTransport
	bolt     *raftboltdb.BoltStore
	liveness *Liveness
	hadState bool
	// membership serialises Join, Leave and ReconcileVoters: each decides
	// a role from the configuration it reads, so two concurrent joins
	// would both see room for one more voter.
	membership sync.Mutex

	// ctx is cancelled by Shutdown; background work derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// Open starts the raft node of cfg. A node with state in DataDir rejoins its
// cluster; a new node waits to be bootstrapped (Bootstrap) or added by a
// leader (Join).
func Open(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	log := cfg.Logger.With("node", cfg.NodeID)
	hlog := newHCLogger(log, cfg.RaftLogLevel)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("open raft store: bolt: %w", err)
	}
	s := &Store{cfg: cfg, log: log, bolt: bolt, fsm: NewFSM(log), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*Store, error) {
		if s.trans != nil {
			s.trans.Close()
		}
		bolt.Close()
		s.cancel()
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	logs, err := raft.NewLogCache(512, bolt)
	if err != nil {
		return fail(err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, hlog)
	if err != nil {
		return fail(err)
	}
	if s.trans, err = cfg.transport(hlog); err != nil {
		return fail(err)
	}
	rc, err := cfg.raftConfig(hlog)
	if err != nil {
		return fail(err)
	}
	if s.hadState, err = raft.HasExistingState(logs, bolt, snaps); err != nil {
		return fail(err)
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, bolt, snaps, s.trans)
	if err != nil {
		return fail(err)
	}
	s.raft = r
	s.liveness = NewLiveness(cfg.SuspectAfter, cfg.DownAfter, time.Now())
	go s.leaderLoop()
	log.Info("raftstate: opened", "addr", s.trans.LocalAddr(), "existing_state", s.hadState)
	return s, nil
}

// withDefaults checks cfg and fills in the defaults of what it leaves zero.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.NodeID == "" || cfg.DataDir == "" {
		return cfg, errors.New("NodeID and DataDir are required")
	}
	if cfg.Voters <= 0 {
		cfg.Voters = DefaultVoters
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = 5 * time.Second
	}
	if cfg.Cluster == (ClusterConfig{}) {
		cfg.Cluster = DefaultClusterConfig()
	}
	if err := cfg.Cluster.validate(); err != nil {
		return cfg, fmt.Errorf("cluster config: %w", err)
	}
	if cfg.SuspectAfter <= 0 {
		cfg.SuspectAfter = DefaultSuspectAfter
	}
	if cfg.DownAfter <= 0 {
		cfg.DownAfter = DefaultDownAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// transport returns Raft's transport: over cfg.StreamLayer if given, else
// plain TCP on BindAddr.
func (cfg Config) transport(hlog hclog.Logger) (*raft.NetworkTransport, error) {
	if cfg.StreamLayer != nil {
		return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: cfg.StreamLayer, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
		}), nil
	}
	if cfg.BindAddr == "" {
		return nil, errors.New("neither StreamLayer nor BindAddr given")
	}
	var adv net.Addr
	if cfg.AdvertiseAddr != "" {
		var err error
		if adv, err = net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr); err != nil {
			return nil, err
		}
	}
	return raft.NewTCPTransportWithLogger(cfg.BindAddr, adv, 3, 10*time.Second, hlog)
}

// raftConfig is hashicorp/raft's configuration with cfg's timings.
func (cfg Config) raftConfig(hlog hclog.Logger) (*raft.Config, error) {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hlog
	setIf(&rc.HeartbeatTimeout, cfg.HeartbeatTimeout)
	setIf(&rc.ElectionTimeout, cfg.ElectionTimeout)
	setIf(&rc.LeaderLeaseTimeout, cfg.LeaderLeaseTimeout)
	setIf(&rc.CommitTimeout, cfg.CommitTimeout)
	setIf(&rc.SnapshotInterval, cfg.SnapshotInterval)
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, err
	}
	return rc, nil
}

func setIf(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

// Shutdown stops the raft node and closes its storage and transport. The
// data directory stays, so Open with the same Config resumes.
func (s *Store) Shutdown() error {
	if s.ctx.Err() != nil {
		return nil
	}
	s.cancel()
	err := s.raft.Shutdown().Error() // also closes the transport
	<-s.done
	if cerr := s.bolt.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("shutdown raft store: %w", err)
	}
	return nil
}

// leaderLoop restarts the liveness grace period and re-applies the voter
// policy whenever this node becomes leader (the old leader may have died
// between removing a voter and promoting its replacement).
func (s *Store) leaderLoop() {
	defer close(s.done)
	for {
		select {
		case <-s.ctx.Done():
			return
		case isLeader := <-s.raft.LeaderCh():
			if !isLeader {
				continue
			}
			s.liveness.Reset(time.Now())
			ctx, cancel := context.WithTimeout(s.ctx, 10*s.cfg.ApplyTimeout)
			if _, err := s.ReconcileVoters(ctx); err != nil {
				s.log.Warn("raftstate: reconcile voters after election", "err", err)
			}
			cancel()
		}
	}
}

// NodeID is this node's id.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// Addr is this node's Raft address.
func (s *Store) Addr() string { return string(s.trans.LocalAddr()) }

// Raft exposes the raft node, for stats and tests.
func (s *Store) Raft() *raft.Raft { return s.raft }

// FSM exposes the local state machine (reads only).
func (s *Store) FSM() *FSM { return s.fsm }

// Leader returns the current leader's address and id, empty if unknown.
func (s *Store) Leader() (addr, id string) {
	a, i := s.raft.LeaderWithID()
	return string(a), string(i)
}

// IsLeader reports whether this node is the leader.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// WaitLeader waits until some node is known to be leader and returns its id.
func (s *Store) WaitLeader(ctx context.Context) (string, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if _, id := s.Leader(); id != "" {
			return id, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-s.ctx.Done():
			return "", fmt.Errorf("wait for leader: %w", raft.ErrRaftShutdown)
		case <-t.C:
		}
	}
}

// Servers returns the current Raft configuration.
func (s *Store) Servers() ([]raft.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("get raft configuration: %w", err)
	}
	return f.Configuration().Servers, nil
}

// Bootstrap makes this node a one-node cluster and records it as the first
// member (a voter), with the cluster config from Config. On a node that
// already has Raft state it does nothing, so the daemon may call it on
// every start of the first node.
func (s *Store) Bootstrap(ctx context.Context, self Member) error {
	if s.hadState {
		return nil
	}
	self.ID = s.cfg.NodeID
	if self.Address == "" {
		self.Address = s.Addr()
	}
	err := s.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
		ID: raft.ServerID(self.ID), Address: raft.ServerAddress(self.Address), Suffrage: raft.Voter,
	}}}).Error()
	if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := s.waitSelfLeader(ctx); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if _, ok := s.fsm.Member(self.ID); ok {
		return nil
	}
	if _, err := s.Apply(ctx, SetConfig{Config: s.cfg.Cluster}); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	self.Role, self.State = RoleVoter, StateUp
	now := time.Now().UTC()
	self.StateSince, self.LastHeartbeat = now, now
	if _, err := s.Apply(ctx, NodeJoin{Member: self}); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	return nil
}

func (s *Store) waitSelfLeader(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !s.IsLeader() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait to become leader: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Join adds node m to the cluster (on the leader): as a voter while there
// are fewer than Config.Voters voters, else as a non-voter; then commits its
// member record (state up). m.Address is the node's Raft address. A node
// already in the configuration keeps its suffrage (rejoin after restart).
// It returns the role given.
func (s *Store) Join(ctx context.Context, m Member) (Role, error) {
	s.membership.Lock()
	defer s.membership.Unlock()
	servers, err := s.Servers()
	if err != nil {
		return "", fmt.Errorf("join %q: %w", m.ID, err)
	}
	role := RoleForJoin(servers, s.cfg.Voters)
	for _, sv := range servers {
		if string(sv.ID) == m.ID {
			role = RoleNonvoter
			if sv.Suffrage == raft.Voter {
				role = RoleVoter
			}
		}
	}
	if role == RoleVoter {
		err = s.AddVoter(ctx, m.ID, m.Address)
	} else {
		err = s.AddNonvoter(ctx, m.ID, m.Address)
	}
	if err != nil {
		return "", fmt.Errorf("join %q: %w", m.ID, err)
	}
	m.Role, m.State = role, StateUp
	now := time.Now().UTC()
	m.StateSince, m.LastHeartbeat = now, now
	if _, err := s.Apply(ctx, NodeJoin{Member: m}); err != nil {
		return "", fmt.Errorf("join %q: %w", m.ID, err)
	}
	s.liveness.Heartbeat(m.ID, time.Now())
	return role, nil
}

// Leave removes node id from the Raft configuration and the member list (on
// the leader), then promotes non-voters if a voter left. Its PID leases
// stay (see NodeLeave). If id is the leader itself, leadership passes to
// another voter, whose election runs the promotion.
func (s *Store) Leave(ctx context.Context, id string) error {
	s.membership.Lock()
	defer s.membership.Unlock()
	if _, ok := s.fsm.Member(id); ok {
		if _, err := s.Apply(ctx, NodeLeave{ID: id}); err != nil {
			return fmt.Errorf("leave %q: %w", id, err)
		}
	}
	if err := s.RemoveServer(ctx, id); err != nil {
		return fmt.Errorf("leave %q: %w", id, err)
	}
	if id == s.cfg.NodeID {
		return nil
	}
	if _, err := s.reconcileVoters(ctx); err != nil {
		return fmt.Errorf("leave %q: %w", id, err)
	}
	return nil
}

// AddVoter adds id at addr as a voter, or promotes it if it is a non-voter.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	return s.wait(ctx, "add voter "+id, func(timeout time.Duration) raft.Future {
		return s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)
	})
}

// AddNonvoter adds id at addr as a non-voter (it replicates but never votes).
func (s *Store) AddNonvoter(ctx context.Context, id, addr string) error {
	return s.wait(ctx, "add nonvoter "+id, func(timeout time.Duration) raft.Future {
		return s.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)
	})
}

// RemoveServer removes id from the Raft configuration.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	return s.wait(ctx, "remove server "+id, func(timeout time.Duration) raft.Future {
		return s.raft.RemoveServer(raft.ServerID(id), 0, timeout)
	})
}

// ReconcileVoters applies the voter policy on the leader: if there are
// fewer than Config.Voters voters, it promotes non-voters chosen by
// PlanPromotions and records their new role. It returns the promoted ids.
func (s *Store) ReconcileVoters(ctx context.Context) ([]string, error) {
	s.membership.Lock()
	defer s.membership.Unlock()
	return s.reconcileVoters(ctx)
}

func (s *Store) reconcileVoters(ctx context.Context) ([]string, error) {
	if !s.IsLeader() {
		return nil, fmt.Errorf("reconcile voters: %w", ErrNotLeader)
	}
	servers, err := s.Servers()
	if err != nil {
		return nil, fmt.Errorf("reconcile voters: %w", err)
	}
	var promoted []string
	for _, sv := range PlanPromotions(servers, s.fsm.State().Members, s.cfg.Voters) {
		id := string(sv.ID)
		if err := s.AddVoter(ctx, id, string(sv.Address)); err != nil {
			return promoted, fmt.Errorf("reconcile voters: promote: %w", err)
		}
		voter := RoleVoter
		if _, err := s.Apply(ctx, NodeUpdate{ID: id, Role: &voter, At: time.Now().UTC()}); err != nil {
			return promoted, fmt.Errorf("reconcile voters: %w", err)
		}
		s.log.Info("raftstate: promoted non-voter", "promoted", id)
		promoted = append(promoted, id)
	}
	return promoted, nil
}

// Apply commits cmd (on the leader) and returns the FSM's result, or the
// FSM's refusal as an error. If ctx ends first, Apply returns ctx's error,
// but the command may still be committed.
func (s *Store) Apply(ctx context.Context, cmd Command) (any, error) {
	v, _, err := s.applyIndex(ctx, cmd)
	return v, err
}

// applyIndex is Apply that also returns the log index of the command, so
// that a follower can wait until its replica has caught up with it.
func (s *Store) applyIndex(ctx context.Context, cmd Command) (any, uint64, error) {
	b, err := EncodeCommand(cmd)
	if err != nil {
		return nil, 0, err
	}
	var f raft.ApplyFuture
	err = s.wait(ctx, cmd.Type().String(), func(timeout time.Duration) raft.Future {
		f = s.raft.Apply(b, timeout)
		return f
	})
	if err != nil {
		return nil, 0, err
	}
	res, ok := f.Response().(*ApplyResult)
	if !ok {
		return nil, 0, fmt.Errorf("%v: unexpected FSM response %T", cmd.Type(), f.Response())
	}
	return res.Value, f.Index(), res.Err
}

// HadState reports whether Open found Raft state in DataDir: the node has
// been part of a cluster before.
func (s *Store) HadState() bool { return s.hadState }

// WaitApplied waits until the local replica has applied the log up to
// index, so that reads from it see every change committed before.
func (s *Store) WaitApplied(ctx context.Context, index uint64) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.raft.AppliedIndex() < index {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for log index %d (applied %d): %w", index, s.raft.AppliedIndex(), ctx.Err())
		case <-s.ctx.Done():
			return fmt.Errorf("wait for log index %d: %w", index, raft.ErrRaftShutdown)
		case <-t.C:
		}
	}
	return nil
}

// TransferLeadership hands leadership to another voter, if this node
// leads, so that a clean stop does not leave the cluster waiting for an
// election timeout.
func (s *Store) TransferLeadership() error {
	if !s.IsLeader() {
		return nil
	}
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		return fmt.Errorf("transfer leadership: %w", err)
	}
	return nil
}

// wait starts a raft operation with a timeout derived from ctx and waits for
// it or ctx, whichever ends first.
func (s *Store) wait(ctx context.Context, op string, start func(timeout time.Duration) raft.Future) error {
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
		}
	}
	f := start(timeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if errors.Is(err, raft.ErrNotLeader) {
			if addr, id := s.Leader(); id != "" {
				return fmt.Errorf("%s: %w (leader is %s at %s)", op, err, id, addr)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
}

// LeasePIDBlock leases the lowest free PID block to node.
func (s *Store) LeasePIDBlock(ctx context.Context, node string) (pidspace.Block, error) {
	v, err := s.Apply(ctx, PIDLease{Node: node})
	if err != nil {
		return pidspace.Block{}, fmt.Errorf("lease pid block for %q: %w", node, err)
	}
	return v.(pidspace.Block), nil
}

// ReleasePIDBlock gives back node's block starting at start.
func (s *Store) ReleasePIDBlock(ctx context.Context, node string, start int) error {
	if _, err := s.Apply(ctx, PIDRelease{Node: node, Start: start}); err != nil {
		return fmt.Errorf("release pid block %d of %q: %w", start, node, err)
	}
	return nil
}

// BindIPCName binds key to a new cluster-wide IPC id owned by owner. If key
// is bound already it returns the existing binding and an error wrapping
// ErrKeyExists (msgget without IPC_EXCL wants the binding; with it, the
// error).
func (s *Store) BindIPCName(ctx context.Context, key, owner string) (IPCBinding, error) {
	v, err := s.Apply(ctx, IPCBind{Key: key, Owner: owner})
	b, _ := v.(IPCBinding)
	if err != nil {
		return b, fmt.Errorf("bind ipc name %q: %w", key, err)
	}
	return b, nil
}

// UnbindIPCName removes key's binding; owner must own it.
func (s *Store) UnbindIPCName(ctx context.Context, key, owner string) error {
	if _, err := s.Apply(ctx, IPCUnbind{Key: key, Owner: owner}); err != nil {
		return fmt.Errorf("unbind ipc name %q: %w", key, err)
	}
	return nil
}

// SetClusterConfig replaces the cluster config.
func (s *Store) SetClusterConfig(ctx context.Context, c ClusterConfig) error {
	if _, err := s.Apply(ctx, SetConfig{Config: c}); err != nil {
		return fmt.Errorf("set cluster config: %w", err)
	}
	return nil
}

// UpdateNode commits a change of a member's fields (resources, address).
func (s *Store) UpdateNode(ctx context.Context, u NodeUpdate) (Member, error) {
	if u.At.IsZero() {
		u.At = time.Now().UTC()
	}
	v, err := s.Apply(ctx, u)
	if err != nil {
		return Member{}, fmt.Errorf("update node %q: %w", u.ID, err)
	}
	return v.(Member), nil
}

// Heartbeat records, in the leader's memory only, that node is alive now.
// Followers may call it too; it only matters once they lead.
func (s *Store) Heartbeat(node string) { s.liveness.Heartbeat(node, time.Now()) }

// CheckLiveness commits the state transitions the heartbeats call for (on
// the leader) and returns them. The daemon calls it periodically, about
// every SuspectAfter/3.
func (s *Store) CheckLiveness(ctx context.Context) ([]Transition, error) {
	if !s.IsLeader() {
		return nil, fmt.Errorf("check liveness: %w", ErrNotLeader)
	}
	ts := s.liveness.Transitions(s.fsm.Members(), time.Now())
	for i, t := range ts {
		u := NodeUpdate{ID: t.Node, State: &t.To, At: time.Now().UTC()}
		if !t.LastHeartbeat.IsZero() {
			hb := t.LastHeartbeat.UTC()
			u.LastHeartbeat = &hb
		}
		if _, err := s.Apply(ctx, u); err != nil {
			return ts[:i], fmt.Errorf("check liveness: %w", err)
		}
		s.log.Info("raftstate: node state changed", "member", t.Node, "from", t.From, "to", t.To)
	}
	return ts, nil
}

// Members returns the members, sorted by id, from the local replica.
func (s *Store) Members() []Member { return s.fsm.Members() }

// Leases returns the PID leases, sorted by start, from the local replica.
func (s *Store) Leases() []Lease { return s.fsm.Leases() }

// ClusterConfig returns the cluster config from the local replica.
func (s *Store) ClusterConfig() ClusterConfig { return s.fsm.ClusterConfig() }

// State returns a copy of the whole local replica.
func (s *Store) State() State { return s.fsm.State() }

// Snapshot asks raft to snapshot now (normally it does on its own).
func (s *Store) Snapshot() error {
	if err := s.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// hcWriter turns hclog's text lines into slog records, so raft logs go
// where herd's go.
type hcWriter struct{ log *slog.Logger }

func (w hcWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	level := slog.LevelInfo
	switch {
	case bytes.Contains(p, []byte("[ERROR]")):
		level = slog.LevelError
	case bytes.Contains(p, []byte("[WARN]")):
		level = slog.LevelWarn
	case bytes.Contains(p, []byte("[DEBUG]")), bytes.Contains(p, []byte("[TRACE]")):
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, line)
	return len(p), nil
}

func newHCLogger(log *slog.Logger, level string) hclog.Logger {
	lv := hclog.LevelFromString(level)
	if lv == hclog.NoLevel {
		lv = hclog.Warn
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            "raft",
		Level:           lv,
		Output:          hcWriter{log: log.With("component", "raft")},
		DisableTime:     true,
		IncludeLocation: false,
	})
}
