package raftstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"herd/pidspace"

	"herd/remote/fuzzbrief"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fsmHarness applies commands through the encoded log path, as raft would.
type fsmHarness struct {
	t     *testing.T
	f     *FSM
	index uint64
}

func newHarness(t *testing.T) *fsmHarness { return &fsmHarness{t: t, f: NewFSM(quiet)} }

func (h *fsmHarness) apply(c Command) (any, error) {
	h.t.Helper()
	b, err := EncodeCommand(c)
	if err != nil {
		h.t.Fatal(err)
	}
	h.index++
	r := h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: b}).(*ApplyResult)
	return r.Value, r.Err
}

func (h *fsmHarness) must(c Command) any {
	h.t.Helper()
	v, err := h.apply(c)
	if err != nil {
		h.t.Fatalf("%v: %v", c.Type(), err)
	}
	return v
}

func member(id string) Member {
	return Member{ID: id, Address: id + ":7946", CPUs: 2, CPUList: []int{0, 1}, MemoryBytes: 1 << 30,
		Role: RoleVoter, State: StateUp, StateSince: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func TestPIDLeases(t *testing.T) {
	h := newHarness(t)
	h.must(SetConfig{Config: ClusterConfig{Placement: "spread", BlockSize: 1024, PIDMax: pidspace.FirstPID + 4*1024 + 1000}})
	h.must(NodeJoin{Member: member("a")})
	h.must(NodeJoin{Member: member("b")})

	if _, err := h.apply(PIDLease{Node: "nobody"}); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("lease for unknown node: %v", err)
	}
	var got []int
	for i := range 4 {
		b := h.must(PIDLease{Node: []string{"a", "b"}[i%2]}).(pidspace.Block)
		if b.Len != 1024 {
			t.Fatalf("block %+v", b)
		}
		got = append(got, b.Start)
	}
	if want := []int{4096, 5120, 6144, 7168}; !reflect.DeepEqual(got, want) {
		t.Fatalf("starts %v, want %v", got, want)
	}
	// The space is full: the remaining 1000 PIDs are not a whole block.
	if _, err := h.apply(PIDLease{Node: "a"}); !errors.Is(err, ErrNoFreeBlock) {
		t.Fatalf("lease on a full space: %v", err)
	}
	// Only the owner releases.
	if _, err := h.apply(PIDRelease{Node: "a", Start: 5120}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("release by non-owner: %v", err)
	}
	if _, err := h.apply(PIDRelease{Node: "b", Start: 5121}); !errors.Is(err, ErrNotLeased) {
		t.Fatalf("release of unleased block: %v", err)
	}
	h.must(PIDRelease{Node: "b", Start: 5120})
	if _, err := h.apply(PIDRelease{Node: "b", Start: 5120}); !errors.Is(err, ErrNotLeased) {
		t.Fatalf("double release: %v", err)
	}
	// The lowest free block is reused only once released.
	if b := h.must(PIDLease{Node: "a"}).(pidspace.Block); b.Start != 5120 {
		t.Fatalf("after release got %+v, want 5120", b)
	}
	// A smaller block size fits into gaps on its own grid.
	h.must(PIDRelease{Node: "a", Start: 4096})
	h.must(SetConfig{Config: ClusterConfig{Placement: "spread", BlockSize: 512, PIDMax: pidspace.FirstPID + 4*1024 + 1000}})
	for _, want := range []int{4096, 4608, 8192} {
		if b := h.must(PIDLease{Node: "a"}).(pidspace.Block); b.Start != want || b.Len != 512 {
			t.Fatalf("got %+v, want start %d", b, want)
		}
	}
	assertNoOverlap(t, h.f.Leases())

	// Leaving keeps leases unless asked to release them.
	h.must(NodeLeave{ID: "b"})
	if n := countLeases(h.f.Leases(), "b"); n != 1 {
		t.Fatalf("b has %d leases after leaving, want 1", n)
	}
	h.must(NodeLeave{ID: "a", ReleaseLeases: true})
	if n := countLeases(h.f.Leases(), "a"); n != 0 {
		t.Fatalf("a has %d leases after leaving with release", n)
	}
}

func countLeases(ls []Lease, node string) int {
	n := 0
	for _, l := range ls {
		if l.Node == node {
			n++
		}
	}
	return n
}

func assertNoOverlap(t *testing.T, ls []Lease) {
	t.Helper()
	for i := 1; i < len(ls); i++ {
		if ls[i-1].Block.End() > ls[i].Block.Start {
			t.Fatalf("leases overlap or unsorted: %+v", ls)
		}
	}
}

func TestIPCNames(t *testing.T) {
	h := newHarness(t)
	h.must(NodeJoin{Member: member("a")})
	h.must(NodeJoin{Member: member("b")})
	b1 := h.must(IPCBind{Key: "msg:0x1234", Owner: "a"}).(IPCBinding)
	b2 := h.must(IPCBind{Key: "sem:0x1234", Owner: "b"}).(IPCBinding)
	if b1.ID == b2.ID || b1.Owner != "a" {
		t.Fatalf("bindings %+v %+v", b1, b2)
	}
	if b, ok := h.f.IPCByID(b2.ID); !ok || b != b2 {
		t.Fatalf("IPCByID(%d) = %+v %v, want %+v", b2.ID, b, ok, b2)
	}
	if _, ok := h.f.IPCByID(b2.ID + 100); ok {
		t.Fatalf("IPCByID of an id never bound found one")
	}
	v, err := h.apply(IPCBind{Key: "msg:0x1234", Owner: "b"})
	if !errors.Is(err, ErrKeyExists) || v.(IPCBinding) != b1 {
		t.Fatalf("rebind: %v %+v", err, v)
	}
	if _, err := h.apply(IPCBind{Key: "x", Owner: "nobody"}); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("bind by unknown node: %v", err)
	}
	if _, err := h.apply(IPCUnbind{Key: "msg:0x1234", Owner: "b"}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("unbind by non-owner: %v", err)
	}
	h.must(IPCUnbind{Key: "msg:0x1234", Owner: "a"})
	if _, err := h.apply(IPCUnbind{Key: "msg:0x1234", Owner: "a"}); !errors.Is(err, ErrKeyNotBound) {
		t.Fatalf("double unbind: %v", err)
	}
	// Ids are never reused.
	b3 := h.must(IPCBind{Key: "msg:0x1234", Owner: "b"}).(IPCBinding)
	if b3.ID == b1.ID || b3.ID == b2.ID {
		t.Fatalf("id reused: %+v", b3)
	}
	// A key whose owner is down is bound afresh, by another node.
	down := StateDown
	h.must(NodeUpdate{ID: "b", State: &down, At: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	b4 := h.must(IPCBind{Key: "msg:0x1234", Owner: "a"}).(IPCBinding)
	if b4.Owner != "a" || b4.ID == b3.ID {
		t.Fatalf("rebind of a lost owner's key: %+v (was %+v)", b4, b3)
	}
	if _, err := h.apply(IPCBind{Key: "sem:0x1234", Owner: "a"}); err != nil {
		t.Fatalf("rebind of sem key owned by the lost b: %v", err)
	}
}

func TestNodeCommands(t *testing.T) {
	h := newHarness(t)
	m := h.must(NodeJoin{Member: member("a")}).(Member)
	if m.JoinIndex != 1 {
		t.Fatalf("join index %d", m.JoinIndex)
	}
	suspect, at := StateSuspect, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	mem := uint64(2 << 30)
	m = h.must(NodeUpdate{ID: "a", State: &suspect, MemoryBytes: &mem, At: at}).(Member)
	if m.State != StateSuspect || !m.StateSince.Equal(at) || m.MemoryBytes != mem || m.CPUs != 2 {
		t.Fatalf("updated %+v", m)
	}
	// Rejoining keeps the join index.
	m = h.must(NodeJoin{Member: member("a")}).(Member)
	if m.JoinIndex != 1 || m.State != StateUp {
		t.Fatalf("rejoined %+v", m)
	}
	bad := Role("king")
	for _, c := range []Command{
		NodeUpdate{ID: "nobody"},
		NodeUpdate{ID: "a", Role: &bad},
		NodeJoin{Member: Member{ID: "x"}},
		NodeJoin{Member: Member{ID: "x", Address: "x:1", Role: RoleVoter, State: "dancing"}},
		NodeLeave{ID: "nobody"},
		SetConfig{Config: ClusterConfig{Placement: "local", BlockSize: 0, PIDMax: 1 << 20}},
		SetConfig{Config: ClusterConfig{Placement: "local", BlockSize: 1024, PIDMax: 1 << 23}},
		SetConfig{Config: ClusterConfig{BlockSize: 1024, PIDMax: 1 << 20}},
	} {
		before := h.f.State()
		if _, err := h.apply(c); err == nil {
			t.Errorf("%v %+v accepted", c.Type(), c)
		}
		if !reflect.DeepEqual(before, h.f.State()) {
			t.Errorf("refused %v changed the state", c.Type())
		}
	}
	// A log entry that does not decode is refused, not a crash.
	r := h.f.Apply(&raft.Log{Index: 99, Type: raft.LogCommand, Data: []byte{200, '{'}}).(*ApplyResult)
	if !errors.Is(r.Err, ErrBadCommand) {
		t.Fatalf("garbage entry: %v", r.Err)
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

func snapshotBytes(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

func TestSnapshotRestore(t *testing.T) {
	h := newHarness(t)
	h.must(SetConfig{Config: ClusterConfig{Placement: "least-loaded", BlockSize: 2048, PIDMax: 1 << 20}})
	for _, id := range []string{"a", "b", "c"} {
		h.must(NodeJoin{Member: member(id)})
	}
	down, hb := StateDown, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h.must(NodeUpdate{ID: "c", State: &down, LastHeartbeat: &hb, At: hb.Add(time.Minute)})
	for range 5 {
		h.must(PIDLease{Node: "a"})
		h.must(PIDLease{Node: "b"})
	}
	h.must(PIDRelease{Node: "a", Start: pidspace.FirstPID})
	h.must(IPCBind{Key: "shm:1", Owner: "b"})
	h.must(IPCBind{Key: "shm:2", Owner: "c"})

	data := snapshotBytes(t, h.f)
	// Applying after the snapshot must not change the snapshot.
	h2 := newHarness(t)
	if err := h2.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.f.State(), h2.f.State()) {
		t.Fatalf("restored state differs:\n%+v\n%+v", h.f.State(), h2.f.State())
	}
	// Both continue identically.
	h2.index = h.index
	b1 := h.must(PIDLease{Node: "c"}).(pidspace.Block)
	b2 := h2.must(PIDLease{Node: "c"}).(pidspace.Block)
	if b1 != b2 || b1.Start != pidspace.FirstPID {
		t.Fatalf("after restore: %+v vs %+v", b1, b2)
	}
	if !reflect.DeepEqual(h.f.State(), h2.f.State()) {
		t.Fatal("states diverged after restore")
	}

	// Corrupt or inconsistent snapshots are refused and change nothing.
	before := h2.f.State()
	for _, bad := range []string{
		"", "{", `{"config":{"placement":"x","block_size":0,"pid_max":100}}`,
		`{"config":{"placement":"x","block_size":1024,"pid_max":1048576},"leases":[{"node":"a","block":{"start":5000,"len":1024}},{"node":"b","block":{"start":5500,"len":1024}}]}`,
	} {
		if err := h2.f.Restore(io.NopCloser(strings.NewReader(bad))); err == nil {
			t.Errorf("restored %q", bad)
		}
	}
	if !reflect.DeepEqual(before, h2.f.State()) {
		t.Fatal("a refused restore changed the state")
	}
}

func TestLiveness(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLiveness(3*time.Second, 10*time.Second, t0)
	ms := []Member{{ID: "a", State: StateUp}, {ID: "b", State: StateUp}, {ID: "c", State: StateDown}}

	if ts := l.Transitions(ms, t0.Add(time.Second)); len(ts) != 0 {
		t.Fatalf("within grace: %+v", ts)
	}
	l.Heartbeat("a", t0.Add(4*time.Second))
	ts := l.Transitions(ms, t0.Add(5*time.Second))
	if len(ts) != 1 || ts[0].Node != "b" || ts[0].To != StateSuspect || !ts[0].LastHeartbeat.IsZero() {
		t.Fatalf("b should be suspect: %+v", ts)
	}
	ms[1].State = StateSuspect
	ts = l.Transitions(ms, t0.Add(15*time.Second))
	if len(ts) != 2 || ts[0] != (Transition{Node: "a", From: StateUp, To: StateDown, LastHeartbeat: t0.Add(4 * time.Second)}) || ts[1].To != StateDown {
		t.Fatalf("a and b should be down: %+v", ts)
	}
	ms[0].State, ms[1].State = StateDown, StateDown
	l.Heartbeat("c", t0.Add(15*time.Second))
	ts = l.Transitions(ms, t0.Add(16*time.Second))
	if len(ts) != 1 || ts[0].Node != "c" || ts[0].To != StateUp {
		t.Fatalf("c should be up: %+v", ts)
	}
	// A reset (new leader) gives everyone a fresh grace period, except that
	// a down node stays down until it beats.
	l.Reset(t0.Add(100 * time.Second))
	ms = []Member{{ID: "a", State: StateSuspect}, {ID: "c", State: StateDown}}
	ts = l.Transitions(ms, t0.Add(101*time.Second))
	if len(ts) != 1 || ts[0].Node != "a" || ts[0].To != StateUp {
		t.Fatalf("after reset: %+v", ts)
	}
}

func TestPlanPromotions(t *testing.T) {
	srv := func(id string, s raft.ServerSuffrage) raft.Server {
		return raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(id), Suffrage: s}
	}
	members := map[string]Member{
		"v1": {ID: "v1", State: StateUp, JoinIndex: 1},
		"v2": {ID: "v2", State: StateUp, JoinIndex: 2},
		"n3": {ID: "n3", State: StateUp, JoinIndex: 5},
		"n4": {ID: "n4", State: StateUp, JoinIndex: 4},
		"n5": {ID: "n5", State: StateDown, JoinIndex: 3},
		"n6": {ID: "n6", State: StateUp, JoinIndex: 4},
	}
	servers := []raft.Server{srv("v1", raft.Voter), srv("v2", raft.Voter), srv("n3", raft.Nonvoter),
		srv("n4", raft.Nonvoter), srv("n5", raft.Nonvoter), srv("n6", raft.Nonvoter), srv("ghost", raft.Nonvoter)}
	ids := func(ss []raft.Server) (out []string) {
		for _, s := range ss {
			out = append(out, string(s.ID))
		}
		return out
	}
	for _, tc := range []struct {
		want int
		ids  []string
	}{
		{2, nil},
		{3, []string{"n4"}},
		{5, []string{"n4", "n6", "n3"}},
		{9, []string{"n4", "n6", "n3"}},
	} {
		if got := ids(PlanPromotions(servers, members, tc.want)); !reflect.DeepEqual(got, tc.ids) {
			t.Errorf("want %d voters: promote %v, want %v", tc.want, got, tc.ids)
		}
	}
	if RoleForJoin(servers, 3) != RoleVoter || RoleForJoin(servers, 2) != RoleNonvoter {
		t.Error("RoleForJoin")
	}
}

// Each fuzz target is a function returning its seeds and its body, so that
// the same body runs under `go test -fuzz` (make fuzz) and in
// TestFuzzTargetsBriefly (every go test).
type fuzzTarget = fuzzbrief.Target

var fuzzTargets = map[string]fuzzTarget{
	"DecodeCommand": decodeCommandTarget,
	"Restore":       restoreTarget,
	"CheckForward":  checkForwardTarget,
}

func fuzzWith(f *testing.F, target fuzzTarget) {
	seeds, body := target(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(body)
}

// FuzzDecodeCommand: DecodeCommand never panics; whatever it accepts
// re-encodes to something that decodes to the same command, and applying it
// to a state never panics.
func FuzzDecodeCommand(f *testing.F) { fuzzWith(f, decodeCommandTarget) }

func decodeCommandTarget(tb testing.TB) ([][]byte, func(*testing.T, []byte)) {
	var seeds [][]byte
	for _, c := range allCommands() {
		b, err := EncodeCommand(c)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds, []byte{}, []byte{0}, []byte{4, 'n', 'u', 'l', 'l'},
		[]byte{8, '{', '"', 'c', 'o', 'n', 'f', 'i', 'g', '"', ':', '{', '"', 'b', 'l', 'o', 'c', 'k', '_', 's', 'i', 'z', 'e', '"', ':', '-', '1', '}', '}'})
	return seeds, func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data)
		if err != nil {
			return
		}
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		b2, _ := EncodeCommand(c2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
		s := NewState()
		s.Members["a"] = member("a")
		s.apply(c, 1)
		s.apply(PIDLease{Node: "a"}, 2)
		if err := s.validate(); err != nil {
			t.Fatalf("state invalid after %v: %v", c.Type(), err)
		}
	}
}

func allCommands() []Command {
	st, _ := time.Parse(time.RFC3339, "2026-01-01T00:00:00Z")
	up := StateUp
	return []Command{
		NodeJoin{Member: member("a")}, NodeLeave{ID: "a", ReleaseLeases: true},
		NodeUpdate{ID: "a", State: &up, CPUList: []int{1}, At: st}, PIDLease{Node: "a"},
		PIDRelease{Node: "a", Start: 4096}, IPCBind{Key: "k", Owner: "a"}, IPCUnbind{Key: "k", Owner: "a"},
		SetConfig{Config: DefaultClusterConfig()}, Nop{},
	}
}

// FuzzRestore: a snapshot (which may come over the network from a leader
// in InstallSnapshot) never panics Restore, and what it accepts is valid.
func FuzzRestore(f *testing.F) { fuzzWith(f, restoreTarget) }

func restoreTarget(testing.TB) ([][]byte, func(*testing.T, []byte)) {
	seeds := [][]byte{
		[]byte(`{}`),
		[]byte(`{"members":{"a":{"id":"b"}}}`),
		[]byte(`{"config":{"placement":"x","block_size":1024,"pid_max":1048576},"leases":[{"node":"a","block":{"start":5000,"len":1024}}]}`),
	}
	return seeds, func(t *testing.T, data []byte) {
		fsm := NewFSM(quiet)
		if err := fsm.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			return
		}
		st := fsm.State()
		if err := st.validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzCheckForward: a write forwarded by another node (JSON of a
// ForwardRequest, as it arrives in a MsgForward payload) never panics
// CheckForward, and what it lets through names the sending node.
func FuzzCheckForward(f *testing.F) { fuzzWith(f, checkForwardTarget) }

func checkForwardTarget(tb testing.TB) ([][]byte, func(*testing.T, []byte)) {
	var seeds [][]byte
	for _, c := range allCommands() {
		b, _ := EncodeCommand(c)
		j, _ := json.Marshal(&ForwardRequest{Command: b})
		seeds = append(seeds, j)
	}
	m := member("a")
	j, _ := json.Marshal(&ForwardRequest{Join: &m})
	seeds = append(seeds, j, []byte(`{"leave":"b"}`), []byte(`{"heartbeat":true}`),
		[]byte(`{"heartbeat":true,"leave":"x"}`), []byte(`{"command":"BA=="}`))
	return seeds, func(t *testing.T, data []byte) {
		var req ForwardRequest
		if json.Unmarshal(data, &req) != nil {
			return
		}
		cmd, err := CheckForward(&req, "a")
		if err != nil {
			return
		}
		switch c := cmd.(type) {
		case PIDLease:
			if c.Node != "a" {
				t.Fatalf("let through %+v from a", c)
			}
		case PIDRelease:
			if c.Node != "a" {
				t.Fatalf("let through %+v from a", c)
			}
		case NodeUpdate:
			if c.ID != "a" || c.Role != nil || c.State != nil {
				t.Fatalf("let through %+v from a", c)
			}
		case NodeJoin, NodeLeave, SetConfig:
			t.Fatalf("let through %v from a", c.Type())
		}
		if req.Join != nil && req.Join.ID != "a" {
			t.Fatalf("let a join as %q", req.Join.ID)
		}
	}
}

// TestLeaseEncoding pins the JSON of a lease: logs and snapshots written
// when the block type was raftstate's own must still read back the same.
func TestLeaseEncoding(t *testing.T) {
	const old = `{"node":"a","block":{"start":4096,"len":1024}}`
	var l Lease
	if err := json.Unmarshal([]byte(old), &l); err != nil {
		t.Fatal(err)
	}
	if l.Node != "a" || l.Block != (pidspace.Block{Start: 4096, Len: 1024}) {
		t.Fatalf("decoded %+v", l)
	}
	got, err := json.Marshal(l)
	if err != nil || string(got) != old {
		t.Fatalf("encoded %s (%v), want %s", got, err, old)
	}
}

// SetPlacement changes the placement and nothing else of the config; an
// empty or oversized policy is refused and changes nothing.
func TestSetPlacement(t *testing.T) {
	h := newHarness(t)
	h.must(SetConfig{Config: DefaultClusterConfig()})
	h.must(SetPlacement{Placement: "spread"})
	want := DefaultClusterConfig()
	want.Placement = "spread"
	if got := h.f.ClusterConfig(); got != want {
		t.Fatalf("config %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", strings.Repeat("x", 129)} {
		if _, err := h.apply(SetPlacement{Placement: bad}); err == nil {
			t.Errorf("placement %q accepted", bad)
		}
		if got := h.f.ClusterConfig(); got != want {
			t.Errorf("after placement %q: config %+v, want %+v", bad, got, want)
		}
	}
}
