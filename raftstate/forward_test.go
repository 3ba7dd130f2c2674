package raftstate

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"herd/pidspace"
)

// directForwarder delivers forwarded writes in-process, as the daemon's
// MsgForward RPC does over the network, with the sender's id as the peer.
type directForwarder struct {
	c    *cluster
	from string
}

func (f directForwarder) Forward(ctx context.Context, addr string, req *ForwardRequest) (*ForwardResponse, error) {
	for i, a := range f.c.addrs {
		if a == addr && f.c.nodes[i] != nil {
			return f.c.nodes[i].ServeForwarded(ctx, f.from, req), nil
		}
	}
	return nil, errors.New("connection refused")
}

func (c *cluster) writer(i int) *Writer {
	return NewWriter(c.nodes[i], directForwarder{c: c, from: id(i)})
}

func TestWriterForwardsToLeader(t *testing.T) {
	c := newCluster(t, 3, 3)
	ctx := ctxFor(t, 30*time.Second)
	l := c.leader()
	f := (l + 1) % 3
	w := c.writer(f)
	b, err := w.LeasePIDBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, le := range c.nodes[f].Leases() {
		if le.Block == b {
			found = le.Node == id(f)
		}
	}
	if !found {
		t.Fatalf("block %+v leased through the leader is not %s's in its replica: %+v", b, id(f), c.nodes[f].Leases())
	}
	if err := w.ReleasePIDBlock(ctx, b.Start); err != nil {
		t.Fatal(err)
	}
	// A refusal of the state machine is final, not retried.
	err = w.ReleasePIDBlock(ctx, b.Start)
	var fe *ForwardError
	if !errors.As(err, &fe) {
		t.Fatalf("second release: %v, want a ForwardError", err)
	}
	if err := w.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}

	// The writer follows the leader when it moves.
	c.shutdown(l)
	if _, err := w.LeasePIDBlock(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("lease after the leader died: %v", err)
	}
}

func TestCheckForwardOnlyOnOwnBehalf(t *testing.T) {
	up := StateUp
	voter := RoleVoter
	for _, tc := range []struct {
		name string
		cmd  Command
		ok   bool
	}{
		{"own lease", PIDLease{Node: "a"}, true},
		{"other's lease", PIDLease{Node: "b"}, false},
		{"other's release", PIDRelease{Node: "b", Start: 4096}, false},
		{"own resources", NodeUpdate{ID: "a", CPUList: []int{0}}, true},
		{"own state", NodeUpdate{ID: "a", State: &up}, false},
		{"own role", NodeUpdate{ID: "a", Role: &voter}, false},
		{"config", SetConfig{Config: DefaultClusterConfig()}, false},
		{"leave by command", NodeLeave{ID: "b"}, false},
		{"join by command", NodeJoin{Member: member("a")}, false},
		{"own ipc name", IPCBind{Key: "k", Owner: "a"}, true},
		{"nop", Nop{}, true},
		{"placement", SetPlacement{Placement: "spread"}, true},
	} {
		b, _ := EncodeCommand(tc.cmd)
		_, err := CheckForward(&ForwardRequest{Command: b}, "a")
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	m := member("b")
	if _, err := CheckForward(&ForwardRequest{Join: &m}, "a"); err == nil {
		t.Error("a joined as b")
	}
	if _, err := CheckForward(&ForwardRequest{Heartbeat: true, Leave: "b"}, "a"); err == nil {
		t.Error("two writes in one request accepted")
	}
}

// PIDBlocks over Raft as the allocator's source: blocks of concurrent
// allocators on different nodes never overlap, and a node that restarts
// gets its old leases back before it leases new ones.
func TestPIDBlocksAcrossNodes(t *testing.T) {
	c := newCluster(t, 3, 3)
	ctx := ctxFor(t, 60*time.Second)
	allocs := make([]*pidspace.BlockAllocator, 3)
	for i := range allocs {
		w := c.writer(i)
		if err := w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		allocs[i] = pidspace.NewBlockAllocator(ctx, NewPIDBlocks(w), 64)
	}
	var (
		mu    sync.Mutex
		owner = map[int]int{}
		wg    sync.WaitGroup
	)
	for i, a := range allocs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2500 { // more than two blocks each
				pid, err := a.Alloc()
				if err != nil {
					t.Errorf("n%d: %v", i, err)
					return
				}
				mu.Lock()
				if j, dup := owner[pid]; dup {
					t.Errorf("PID %d handed out by n%d and n%d", pid, j, i)
				}
				owner[pid] = i
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	w := c.writer(1)
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var held []pidspace.Block
	for _, l := range c.nodes[1].Leases() {
		if l.Node == id(1) {
			held = append(held, l.Block)
		}
	}
	if len(held) < 3 {
		t.Fatalf("n1 holds %v after 2500 allocations", held)
	}
	// A restarted n1 (same replica) adopts exactly those leases first.
	src := NewPIDBlocks(w)
	if src.Adopted() != len(held) {
		t.Fatalf("adopted %d leases, want %d", src.Adopted(), len(held))
	}
	for _, want := range held {
		got, err := src.LeaseBlock(ctx)
		if err != nil || got.Start != want.Start || got.Len != want.Len {
			t.Fatalf("adopted %v (%v), want %+v", got, err, want)
		}
	}
	if got, err := src.LeaseBlock(ctx); err != nil || slicesContainsBlock(held, got) {
		t.Fatalf("lease after adoption: %v %v", got, err)
	}
}

func slicesContainsBlock(bs []pidspace.Block, b pidspace.Block) bool {
	for _, x := range bs {
		if x.Start == b.Start {
			return true
		}
	}
	return false
}

// Without a leader a lease fails with EAGAIN (fork's errno) after the
// timeout instead of hanging.
func TestPIDBlocksNoLeader(t *testing.T) {
	c := newCluster(t, 3, 3)
	w := c.writer(0)
	c.shutdown(1)
	c.shutdown(2)
	src := NewPIDBlocks(w)
	src.Timeout = 500 * time.Millisecond
	src.adopt = nil
	_, err := src.LeaseBlock(context.Background())
	if !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("lease without a quorum: %v, want EAGAIN", err)
	}
}
