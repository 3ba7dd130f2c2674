package raftstate

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"herd/pidspace"
)

// syncBuffer collects logs; dumped only if the test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type cluster struct {
	t      *testing.T
	root   string
	voters int
	logs   *syncBuffer
	nodes  []*Store // nil once shut down
	addrs  []string
}

func newCluster(t *testing.T, n, voters int) *cluster {
	c := &cluster{t: t, root: t.TempDir(), voters: voters, logs: &syncBuffer{},
		nodes: make([]*Store, n), addrs: make([]string, n)}
	t.Cleanup(func() {
		c.shutdownAll()
		if t.Failed() {
			t.Logf("logs:\n%s", c.logs.String())
		}
	})
	for i := range n {
		c.open(i, "127.0.0.1:0")
	}
	ctx := ctxFor(t, 10*time.Second)
	if err := c.nodes[0].Bootstrap(ctx, c.memberOf(0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if _, err := c.nodes[0].Join(ctx, c.memberOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	c.waitAll(func(s *Store) bool { return len(s.Members()) == n }, "every node sees every member")
	return c
}

func id(i int) string { return fmt.Sprintf("n%d", i) }

func (c *cluster) open(i int, addr string) {
	c.t.Helper()
	s, err := Open(Config{
		NodeID:             id(i),
		DataDir:            filepath.Join(c.root, id(i)),
		BindAddr:           addr,
		Voters:             c.voters,
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 150 * time.Millisecond,
		CommitTimeout:      20 * time.Millisecond,
		SuspectAfter:       300 * time.Millisecond,
		DownAfter:          600 * time.Millisecond,
		Logger:             slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RaftLogLevel:       "info",
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i], c.addrs[i] = s, s.Addr()
}

func (c *cluster) memberOf(i int) Member {
	return Member{ID: id(i), Address: c.addrs[i], CPUs: 2, CPUList: []int{0, 1}, MemoryBytes: 4 << 30}
}

func (c *cluster) shutdown(i int) {
	c.t.Helper()
	if c.nodes[i] == nil {
		return
	}
	if err := c.nodes[i].Shutdown(); err != nil {
		c.t.Errorf("shutdown %s: %v", id(i), err)
	}
	c.nodes[i] = nil
}

func (c *cluster) shutdownAll() {
	for i := range c.nodes {
		c.shutdown(i)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or a generous deadline passes; it
// never asserts how long anything took.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) waitAll(cond func(*Store) bool, what string) {
	c.t.Helper()
	eventually(c.t, what, func() bool {
		for _, s := range c.nodes {
			if s != nil && !cond(s) {
				return false
			}
		}
		return true
	})
}

// leader waits for a live node to be leader, and returns its index.
func (c *cluster) leader() int {
	c.t.Helper()
	li := -1
	eventually(c.t, "a leader is elected", func() bool {
		for i, s := range c.nodes {
			if s != nil && s.IsLeader() {
				li = i
				return true
			}
		}
		return false
	})
	return li
}

// onLeader runs op on the leader, retrying while leadership moves.
func (c *cluster) onLeader(op func(s *Store) error) {
	c.t.Helper()
	var err error
	eventually(c.t, "an operation succeeds on the leader", func() bool {
		err = op(c.nodes[c.leader()])
		return err == nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

func voters(t *testing.T, s *Store) []string {
	t.Helper()
	servers, err := s.Servers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sv := range servers {
		if sv.Suffrage == raft.Voter {
			out = append(out, string(sv.ID))
		}
	}
	slices.Sort(out)
	return out
}

func TestClusterLeaderFailover(t *testing.T) {
	c := newCluster(t, 3, 3)
	ctx := ctxFor(t, 30*time.Second)
	l := c.leader()
	if got := voters(t, c.nodes[l]); !reflect.DeepEqual(got, []string{"n0", "n1", "n2"}) {
		t.Fatalf("voters %v", got)
	}
	for _, m := range c.nodes[l].Members() {
		if m.Role != RoleVoter || m.State != StateUp || m.CPUs != 2 {
			t.Fatalf("member %+v", m)
		}
	}
	var blocks []pidspace.Block
	for i := range 3 {
		b, err := c.nodes[l].LeasePIDBlock(ctx, id(i))
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	if blocks[0].Start != 4096 || blocks[2].Start != 6144 {
		t.Fatalf("blocks %+v", blocks)
	}
	if _, err := c.nodes[l].BindIPCName(ctx, "msg:0x10", id(1)); err != nil {
		t.Fatal(err)
	}
	// A follower refuses writes and says who leads.
	f := (l + 1) % 3
	if _, err := c.nodes[f].LeasePIDBlock(ctx, id(f)); err == nil || !strings.Contains(err.Error(), "not the leader") {
		t.Fatalf("lease on a follower: %v", err)
	}
	want := c.nodes[l].Leases()
	c.waitAll(func(s *Store) bool { return reflect.DeepEqual(s.Leases(), want) }, "leases replicate")

	// Kill the leader: another takes over with the leases intact.
	c.shutdown(l)
	nl := c.leader()
	if nl == l {
		t.Fatal("dead node is leader")
	}
	if got := c.nodes[nl].Leases(); !reflect.DeepEqual(got, want) {
		t.Fatalf("leases after failover %+v, want %+v", got, want)
	}
	var nb pidspace.Block
	c.onLeader(func(s *Store) (err error) {
		nb, err = s.LeasePIDBlock(ctx, id(nl))
		return err
	})
	for _, b := range blocks {
		if b == nb {
			t.Fatalf("new lease %+v reuses a leased block", nb)
		}
	}
	if nb.Start != 7168 {
		t.Fatalf("new lease %+v, want the lowest free block 7168", nb)
	}

	// The old leader comes back from its directory and catches up.
	c.open(l, c.addrs[l])
	all := c.nodes[nl].Leases()
	c.waitAll(func(s *Store) bool { return reflect.DeepEqual(s.Leases(), all) }, "the restarted node catches up")
	if b, ok := c.nodes[l].FSM().IPCName("msg:0x10"); !ok || b.Owner != id(1) {
		t.Fatalf("ipc binding after restart: %+v %v", b, ok)
	}

	p50, p99, err := MeasureApplyLatency(c.nodes[c.leader()], 20)
	if err != nil {
		t.Fatal(err)
	}
	if p50 <= 0 || p99 < p50 {
		t.Fatalf("latency p50 %v p99 %v", p50, p99)
	}
	t.Logf("apply latency on loopback: p50 %v p99 %v", p50, p99)
}

func TestClusterRestartFromDisk(t *testing.T) {
	c := newCluster(t, 3, 3)
	ctx := ctxFor(t, 30*time.Second)
	l := c.leader()
	if err := c.nodes[l].SetClusterConfig(ctx, ClusterConfig{Placement: "spread", BlockSize: 1024, PIDMax: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := c.nodes[l].LeasePIDBlock(ctx, id(i%3)); err != nil {
			t.Fatal(err)
		}
	}
	// Snapshot every node, then write more so the restart needs both the
	// snapshot and the log after it.
	c.waitAll(func(s *Store) bool { return len(s.Leases()) == 4 }, "leases replicate")
	for _, s := range c.nodes {
		if err := s.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.nodes[l].ReleasePIDBlock(ctx, id(1), 5120); err != nil {
		t.Fatal(err)
	}
	if _, err := c.nodes[l].BindIPCName(ctx, "sem:0x2", id(2)); err != nil {
		t.Fatal(err)
	}
	want := c.nodes[l].State()
	c.waitAll(func(s *Store) bool { return reflect.DeepEqual(s.State(), want) }, "state replicates")

	c.shutdownAll()
	for i := range c.nodes {
		c.open(i, c.addrs[i])
	}
	// Bootstrap on a node with state is a no-op.
	if err := c.nodes[0].Bootstrap(ctx, c.memberOf(0)); err != nil {
		t.Fatal(err)
	}
	c.leader()
	c.waitAll(func(s *Store) bool { return reflect.DeepEqual(s.State(), want) }, "every node restores the same state")

	var nb pidspace.Block
	c.onLeader(func(s *Store) (err error) {
		nb, err = s.LeasePIDBlock(ctx, id(0))
		return err
	})
	for _, ls := range want.Leases {
		if ls.Block.Start == nb.Start {
			t.Fatalf("new lease %+v reuses a block leased before the restart", nb)
		}
	}
	if nb.Start != 5120 { // the one released block
		t.Fatalf("new lease %+v, want 5120", nb)
	}
}

func TestNonvoterPromotionAndLiveness(t *testing.T) {
	c := newCluster(t, 5, 3)
	ctx := ctxFor(t, 30*time.Second)
	l := c.leader()
	if got := voters(t, c.nodes[l]); !reflect.DeepEqual(got, []string{"n0", "n1", "n2"}) {
		t.Fatalf("voters %v, want the first three", got)
	}
	for _, m := range c.nodes[l].Members() {
		wantRole := RoleNonvoter
		if m.ID <= "n2" {
			wantRole = RoleVoter
		}
		if m.Role != wantRole {
			t.Fatalf("member %s has role %s", m.ID, m.Role)
		}
	}

	// Remove a voter that is not the leader: the oldest non-voter (n3) is
	// promoted.
	gone := 1
	if l == 1 {
		gone = 2
	}
	c.onLeader(func(s *Store) error { return s.Leave(ctx, id(gone)) })
	c.shutdown(gone)
	l = c.leader()
	wantVoters := []string{"n0", "n1", "n2", "n3"}
	wantVoters = slices.DeleteFunc(wantVoters, func(s string) bool { return s == id(gone) })
	eventually(t, "n3 is promoted", func() bool {
		return reflect.DeepEqual(voters(t, c.nodes[c.leader()]), wantVoters)
	})
	c.waitAll(func(s *Store) bool {
		m, ok := s.FSM().Member("n3")
		_, still := s.FSM().Member(id(gone))
		return ok && m.Role == RoleVoter && !still
	}, "the promotion and the leave are recorded")

	// Liveness: n4 stops beating and goes suspect then down; the others
	// beat and stay up. Only transitions are committed.
	c.shutdown(4)
	seen := map[NodeState]bool{}
	eventually(t, "n4 is marked down", func() bool {
		li := c.leader()
		for i, s := range c.nodes {
			if s != nil {
				c.nodes[li].Heartbeat(id(i))
			}
		}
		ts, err := c.nodes[li].CheckLiveness(ctx)
		if err != nil {
			return false
		}
		for _, tr := range ts {
			if tr.Node != "n4" {
				t.Fatalf("unexpected transition %+v", tr)
			}
			seen[tr.To] = true
		}
		m, _ := c.nodes[li].FSM().Member("n4")
		return m.State == StateDown
	})
	if !seen[StateSuspect] {
		t.Error("n4 went down without being suspect first")
	}
	for _, m := range c.nodes[c.leader()].Members() {
		if m.ID != "n4" && m.State != StateUp {
			t.Errorf("%s is %s", m.ID, m.State)
		}
	}
}
