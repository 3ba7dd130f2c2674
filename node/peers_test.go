package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/raftstate"
	"herd/remote"
	"herd/sentry"
	"herd/syscalls"
)

// The parts of the node between Spaces are tested over real TLS RPC
// (a port per node, certificates of one test CA) with real
// pidspace.Spaces and Kernels; only the sentry is missing: a testHost
// runs the "tracer thread" on a goroutine and records the signals its
// node's Signaller would have the sentry deliver.

// noAlloc is an allocator that owns nothing: the tests name every PID.
type noAlloc struct{}

func (noAlloc) Alloc() (int, error)   { return 0, syscall.EAGAIN }
func (noAlloc) Reserve(pid int) error { return nil }
func (noAlloc) Free(pid int)          {}

// delivered is a signal the local sentry was asked to deliver.
type delivered struct {
	PID, Sig, From int
	UID            uint32
}

// recordSignals is a node-local Signaller that records instead of
// signalling.
type recordSignals struct {
	mu  sync.Mutex
	got []delivered
}

func (r *recordSignals) Signal(target pidspace.Target, sig int, info *sentry.SigInfo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := delivered{PID: target.PID, Sig: sig}
	if info != nil {
		d.From, d.UID = info.Pid(), info.UID()
	}
	r.got = append(r.got, d)
	return nil
}

func (r *recordSignals) list() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// testHost is one node: its Space and Kernel, its tracer goroutine, its
// port, and the peer parts under test.
type testHost struct {
	name   string
	space  *pidspace.Space
	kernel *syscalls.Kernel
	jobs   chan func()
	sigs   *recordSignals
	sigr   clusterSignaller
	logs   logLines
	net    *peerNet
	out    *outbox
	kills  remoteKills
	addr   string
	lis    *remote.Listener
	srv    *remote.Server
}

func (h *testHost) Post(f func()) { h.jobs <- f }

func (h *testHost) ApplyPeerEvent(ev pidspace.PeerEvent) { h.kernel.ApplyPeerEvent(ev) }

func (h *testHost) DeliverFromPeer(pid, sig int, info *sentry.SigInfo, group pidspace.GroupSend) error {
	return h.kernel.DeliverFromPeer(pid, sig, info, group)
}

func (h *testHost) KillFrom(req syscalls.KillRequest) (string, error) { return h.kernel.KillFrom(req) }

func (h *testHost) Space() *pidspace.Space { return h.space }

// onTracer runs f on h's tracer goroutine and waits for it.
func (h *testHost) onTracer(f func()) {
	done := make(chan struct{})
	h.Post(func() { f(); close(done) })
	<-done
}

// testCluster is a few testHosts whose membership the test controls.
type testCluster struct {
	t       *testing.T
	ca      *remote.CA
	mu      sync.Mutex
	members []raftstate.Member
	leases  []raftstate.Lease
	hosts   map[string]*testHost
}

func (c *testCluster) memberList() []raftstate.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.members)
}

func (c *testCluster) leaseList() []raftstate.Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.leases)
}

// setMember changes node id's address and state.
func (c *testCluster) setMember(id, addr string, state raftstate.NodeState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.members {
		if c.members[i].ID == id {
			c.members[i].Address, c.members[i].State = addr, state
		}
	}
}

// logLines is a slog.Handler that keeps the messages a node logs, for a
// test to look for.
type logLines struct {
	mu   *sync.Mutex
	msgs *[]string
}

func newLogLines() logLines { return logLines{mu: new(sync.Mutex), msgs: new([]string)} }

func (l logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logLines) WithGroup(string) slog.Handler            { return l }

func (l logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.msgs = append(*l.msgs, r.Message)
	return nil
}

// has reports whether a message containing s was logged.
func (l logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(*l.msgs, func(m string) bool { return strings.Contains(m, s) })
}

var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestCluster starts nodes named names, each holding the lease of
// block [FirstPID + 1024*i, +1024).
func newTestCluster(t *testing.T, names ...string) *testCluster {
	t.Helper()
	ca, err := remote.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{t: t, ca: ca, hosts: map[string]*testHost{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i, n := range names {
		h := c.start(ctx, n)
		c.members = append(c.members, raftstate.Member{ID: n, Address: h.addr, State: raftstate.StateUp})
		c.leases = append(c.leases, raftstate.Lease{Node: n, Block: pidspace.Block{Start: pidspace.FirstPID + 1024*i, Len: 1024}})
	}
	return c
}

// start makes node n: its Space (with init), Kernel, port and peers.
func (c *testCluster) start(ctx context.Context, n string) *testHost {
	t := c.t
	creds, err := c.ca.Issue(n, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := remote.Listen("127.0.0.1:0", remote.ListenerConfig{Credentials: creds, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	h := &testHost{name: n, space: pidspace.NewSpace(n, noAlloc{}), jobs: make(chan func(), 64), sigs: &recordSignals{},
		lis: lis, srv: remote.NewServer(testLog), addr: lis.Addr().String(), logs: newLogLines()}
	hlog := slog.New(h.logs)
	if err := h.space.AddInit(); err != nil {
		t.Fatal(err)
	}
	pool := remote.NewPool(creds)
	h.net = &peerNet{self: n, members: c.memberList, pool: pool, log: hlog}
	h.out = newOutbox(ctx, h.net)
	h.kills = remoteKills{net: h.net, holder: func(pid int) string { return raftstate.HolderOf(c.leaseList(), pid) }}
	h.space.SetPeers(spacePeers{net: h.net})
	h.kernel = syscalls.NewKernel(n, h.space, noAlloc{}, testLog)
	h.kernel.SetPeerEvents(h.out)
	h.kernel.SetRemoteKills(h.kills)
	h.sigr = clusterSignaller{local: h.sigs, self: n, out: h.out}
	h.kernel.SetSignaller(h.sigr)
	ps := &peerServer{host: h, log: hlog, kill: h.kills.send, procCall: h.kernel.ProcCallFrom, procs: remoteProcs{net: h.net}}
	ps.register(h.srv)
	go h.srv.Serve(lis)
	go func() {
		for {
			select {
			case f := <-h.jobs:
				f()
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		h.srv.Close()
		pool.Close()
	})
	c.hosts[n] = h
	return h
}

// waitUntil polls cond (on no particular thread) until it holds, or
// fails the test after a generous bound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	rootCreds  = pidspace.Creds{}
	userCreds  = pidspace.Creds{RUID: 1000, EUID: 1000, SUID: 1000, RGID: 1000, EGID: 1000, SGID: 1000}
	otherCreds = pidspace.Creds{RUID: 1001, EUID: 1001, SUID: 1001, RGID: 1001, EGID: 1001, SGID: 1001}
)

// A program homed on n1 that runs on n2 forks a child there (homed on
// n2). The child's exit crosses to n1 as a PeerEvent over RPC; n1's
// Kernel applies it on its tracer and notifies the parent, which runs on
// n2: the SIGCHLD crosses back as a nodemsg.Signal and n2 delivers it with
// the child's siginfo. The parent's wait at n1 then reaps the child, and
// ChildReaped crosses to n2, where the child's record goes.
func TestPeerEventsAndSignalsCross(t *testing.T) {
	c := newTestCluster(t, "n1", "n2")
	n1, n2 := c.hosts["n1"], c.hosts["n2"]
	const launcher, parent, child = 100, 4096, 5120
	must(t, n1.space.AddVirtual(launcher, userCreds, "sh"))
	must(t, n1.space.Spawn(pidspace.SpawnArgs{PPID: launcher, PID: parent, Creds: userCreds, Comm: "make", Args: "make"}))
	must(t, n1.space.SetNode(parent, "n2"))
	k, err := n1.space.Kin(parent)
	must(t, err)
	var eff pidspace.Effects
	n2.onTracer(func() { eff, err = n2.space.ForkFrom(k, child, int(unix.SIGCHLD)) })
	must(t, err)
	n2.onTracer(func() { n2.out.Send(eff.Remote) })
	waitUntil(t, "the child stub at n1", func() bool {
		p, ok := n1.space.Lookup(child)
		return ok && p.Stub
	})

	// The child exits on n2, as the sentry would report it.
	n2.onTracer(func() { n2.kernel.Exited(child, unix.WaitStatus(3<<8), &unix.Rusage{}) })
	waitUntil(t, "SIGCHLD for the parent on n2", func() bool { return len(n2.sigs.list()) > 0 })
	if got := n2.sigs.list(); len(got) != 1 || got[0] != (delivered{PID: parent, Sig: int(unix.SIGCHLD), From: child, UID: 1000}) {
		t.Fatalf("n2 delivered %+v, want one SIGCHLD to %d from %d (uid 1000)", got, parent, child)
	}
	if got := n1.sigs.list(); len(got) != 0 {
		t.Errorf("n1 delivered %+v itself; the parent runs on n2", got)
	}

	// The parent's wait, at its home n1, reaps the child: n2 forgets it.
	var res pidspace.WaitResult
	n1.onTracer(func() { res, err = n1.space.Wait(parent, pidspace.Wait4(child, 0)) })
	must(t, err)
	if res.PID != child || !res.Reaped {
		t.Fatalf("wait: %+v", res)
	}
	n1.onTracer(func() { n1.out.Send(res.Remote) })
	waitUntil(t, "the child's record gone at n2", func() bool {
		_, ok := n2.space.Lookup(child)
		return !ok
	})
}

// spawn records program pid with creds on h, under a launcher lpid of
// the same creds (each in a session and group of its own).
func (h *testHost) spawn(t *testing.T, lpid, pid int, creds pidspace.Creds) {
	t.Helper()
	must(t, h.space.AddVirtual(lpid, creds, "herd"))
	must(t, h.space.Spawn(pidspace.SpawnArgs{PPID: lpid, PID: pid, Creds: creds, Comm: "sleep", Args: "sleep 1000"}))
}

// kill(-1) and kill(-pgid) on n1 reach the records homed on n2 through
// pidspace.Peers over RPC, with Linux's permission rules: a user's
// kill(-1) gets that user's process on n2 and not root's; the targets
// carry node n2, and n1's Signaller sends the signal there, where it is
// delivered with the sender's siginfo. A node that is down is not asked.
func TestPeersKillAllAndGroups(t *testing.T) {
	c := newTestCluster(t, "n1", "n2")
	n1, n2 := c.hosts["n1"], c.hosts["n2"]
	n1.spawn(t, 100, 4096, userCreds)
	n2.spawn(t, 5120, 5121, userCreds)
	n2.spawn(t, 5122, 5123, rootCreds)

	targets, err := n1.space.SignalTargets(4096, -1, int(unix.SIGTERM))
	must(t, err)
	if len(targets) != 1 || targets[0].PID != 5121 || targets[0].Node != "n2" {
		t.Fatalf("kill(-1) by uid 1000 on n1 targets %+v, want 5121 on n2 only", targets)
	}
	var info sentry.SigInfo
	n1.onTracer(func() {
		info = sentry.NewSigInfo(int(unix.SIGTERM), 0, 4096, 1000)
		err = n1.sigr.Signal(targets[0], int(unix.SIGTERM), &info)
	})
	must(t, err)
	waitUntil(t, "SIGTERM delivered on n2", func() bool { return len(n2.sigs.list()) > 0 })
	if got := n2.sigs.list(); got[0] != (delivered{PID: 5121, Sig: int(unix.SIGTERM), From: 4096, UID: 1000}) {
		t.Errorf("n2 delivered %+v", got)
	}

	g := spacePeers{net: n1.net}.Group(5123)
	if len(g.Members) != 1 || g.Members[0].PID != 5123 || g.Members[0].Node != "n2" || g.Linked != n2.space.LocalGroup(5123).Linked {
		t.Errorf("Group(5123) from n1 = %+v", g)
	}
	if _, err := n1.space.SignalTargets(4096, -5123, int(unix.SIGTERM)); !errors.Is(err, unix.EPERM) {
		t.Errorf("kill(-5123) of root's group by uid 1000: %v, want EPERM", err)
	}

	c.setMember("n2", n2.addr, raftstate.StateDown)
	if all := (spacePeers{net: n1.net}).All(); len(all) != 0 {
		t.Errorf("All() asked a node that is down: %+v", all)
	}
}

// A kill of a PID n1 does not hold goes to the PID's lease holder, which
// decides with its own records and the sender's credentials: delivered,
// EPERM and ESRCH come back across the wire; a zombie and the probe
// receive nothing and succeed. A PID the holder lent to another node is
// forwarded there.
func TestRemoteKill(t *testing.T) {
	c := newTestCluster(t, "n1", "n2", "n3")
	n1, n2, n3 := c.hosts["n1"], c.hosts["n2"], c.hosts["n3"]
	n2.spawn(t, 5120, 5121, userCreds)
	n2.spawn(t, 5122, 5123, rootCreds)
	n3.spawn(t, 6144, 6145, userCreds)
	if h := n1.kills.KillHolder(5121); h != "n2" {
		t.Errorf("holder of 5121: %q", h)
	}
	if h := n1.kills.KillHolder(pidspace.FirstPID); h != "n1" {
		t.Errorf("holder of %d: %q", pidspace.FirstPID, h)
	}
	if h := n1.kills.KillHolder(pidspace.FirstPID + 5000); h != "" {
		t.Errorf("holder of an unleased PID: %q", h)
	}
	ctx := context.Background()
	user := syscalls.KillRequest{Sender: 4096, SenderSID: 100, Creds: userCreds, Sig: int(unix.SIGTERM)}
	user.Info = sentry.NewSigInfo(user.Sig, 0, 4096, 1000)
	kill := func(node string, pid int, r syscalls.KillRequest) error {
		r.PID = pid
		return n1.kills.Kill(ctx, node, r)
	}
	must(t, kill("n2", 5121, user))
	waitUntil(t, "SIGTERM on n2", func() bool { return len(n2.sigs.list()) > 0 })
	if got := n2.sigs.list(); len(got) != 1 || got[0] != (delivered{PID: 5121, Sig: int(unix.SIGTERM), From: 4096, UID: 1000}) {
		t.Errorf("n2 delivered %+v", got)
	}
	if err := kill("n2", 5123, user); !errors.Is(err, unix.EPERM) {
		t.Errorf("kill of root's process by uid 1000: %v, want EPERM", err)
	}
	if err := kill("n2", 5200, user); !errors.Is(err, unix.ESRCH) {
		t.Errorf("kill of no process: %v, want ESRCH", err)
	}
	probe := user
	probe.Sig = 0
	must(t, kill("n2", 5121, probe))
	if _, err := n2.space.Exit(5121, pidspace.ExitedStatus(0), pidspace.Rusage{}); err != nil {
		t.Fatal(err)
	}
	must(t, kill("n2", 5121, user)) // a zombie: success, nothing delivered
	if got := n2.sigs.list(); len(got) != 1 {
		t.Errorf("the probe or the zombie got a signal: %+v", got)
	}

	// n2 lent 5300 to n3 (record transfer): n2 forwards.
	n3.spawn(t, 5301, 5300, userCreds)
	n2.onTracer(func() {
		n2.kernel.Moved = func(pid int) (string, bool) { return "n3", pid == 5300 }
	})
	must(t, kill("n2", 5300, user))
	waitUntil(t, "SIGTERM forwarded to n3", func() bool { return len(n3.sigs.list()) > 0 })
	if got := n3.sigs.list(); got[0].PID != 5300 || got[0].From != 4096 {
		t.Errorf("n3 delivered %+v", got)
	}
}

// Signals and events for a peer that cannot be reached wait in its queue
// and go, in order, once it can be; what is queued for a peer Raft
// declares down is given up (and logged). A batch sent again is applied
// once.
func TestOutboxRetriesInOrder(t *testing.T) {
	c := newTestCluster(t, "n1", "n2")
	n1, n2 := c.hosts["n1"], c.hosts["n2"]
	n2.spawn(t, 5120, 5121, userCreds)
	c.setMember("n2", deadAddr(t), raftstate.StateUp)
	send := func(sig unix.Signal) {
		n1.onTracer(func() { must(t, n1.sigr.Signal(pidspace.Target{PID: 5121, Node: "n2"}, int(sig), nil)) })
	}
	for _, sig := range []unix.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGTERM} {
		send(sig)
	}
	waitUntil(t, "a failed attempt", func() bool { return n1.logs.has("will retry") })
	c.setMember("n2", n2.addr, raftstate.StateUp)
	waitUntil(t, "three signals on n2", func() bool { return len(n2.sigs.list()) == 3 })
	var sigs []int
	for _, d := range n2.sigs.list() {
		sigs = append(sigs, d.Sig)
	}
	if !slices.Equal(sigs, []int{int(unix.SIGUSR1), int(unix.SIGUSR2), int(unix.SIGTERM)}) {
		t.Errorf("delivered in order %v", sigs)
	}

	c.setMember("n2", deadAddr(t), raftstate.StateDown)
	send(unix.SIGHUP)
	waitUntil(t, "the batch given up", func() bool { return n1.logs.has("peer down") })
	c.setMember("n2", n2.addr, raftstate.StateUp)
	send(unix.SIGINT)
	waitUntil(t, "SIGINT on n2", func() bool { return len(n2.sigs.list()) == 4 })
	if got := n2.sigs.list()[3].Sig; got != int(unix.SIGINT) {
		t.Errorf("after the drop, n2 got %d, want SIGINT only", got)
	}

	var in inbox
	if !in.fresh("n1", 7, 1) || in.fresh("n1", 7, 1) || !in.fresh("n1", 7, 2) || !in.fresh("n1", 8, 1) {
		t.Error("inbox: a batch again was taken as new, or a new one as old")
	}
}

// deadAddr is an address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
