package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"herd/pidspace"
	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
	"herd/sentry"
	"herd/syscalls"
)

// What crosses between the Spaces of different nodes (docs/architecture.md,
// "Between nodes"): events a Space returns for another (Effects.Remote),
// the group and kill(-1) questions of pidspace.Peers, signals to processes
// running elsewhere, and kills of PIDs another node holds.

// peerTimeout bounds one question to one peer (Group, All, Kill) and one
// attempt to deliver a batch.
const peerTimeout = 2 * time.Second

// Retrying a batch: first pause, longest pause.
const (
	retryFirst = 50 * time.Millisecond
	retryMax   = 2 * time.Second
)

// peerNet is how a node reaches the others: the members as Raft's
// replica has them, and an RPC client per address.
type peerNet struct {
	self    string
	members func() []raftstate.Member
	pool    *remote.Pool
	log     *slog.Logger
}

// member is node id's record; false if it is no member.
func (n *peerNet) member(id string) (raftstate.Member, bool) {
	for _, m := range n.members() {
		if m.ID == id {
			return m, true
		}
	}
	return raftstate.Member{}, false
}

// live are the other members that are not down.
func (n *peerNet) live() []raftstate.Member {
	var out []raftstate.Member
	for _, m := range n.members() {
		if m.ID != n.self && m.State != raftstate.StateDown {
			out = append(out, m)
		}
	}
	return out
}

// spacePeers is pidspace.Peers over RPC: each question goes to every
// other member that is not down, in parallel, each bounded by
// peerTimeout; a peer that does not answer is left out (and logged).
type spacePeers struct{ net *peerNet }

// Group implements pidspace.Peers.
func (p spacePeers) Group(pgid int) pidspace.GroupView {
	var (
		mu sync.Mutex
		v  pidspace.GroupView
	)
	p.ask("group", func(ctx context.Context, c *remote.Client) error {
		g, err := remote.Call(ctx, c, nodemsg.Group, &nodemsg.GroupRequest{PGID: pgid})
		if err == nil {
			mu.Lock()
			v.Members = append(v.Members, g.Members...)
			v.Linked = v.Linked || g.Linked
			mu.Unlock()
		}
		return err
	})
	return v
}

// All implements pidspace.Peers.
func (p spacePeers) All() []pidspace.Kin {
	var (
		mu  sync.Mutex
		all []pidspace.Kin
	)
	p.ask("all", func(ctx context.Context, c *remote.Client) error {
		r, err := remote.Call(ctx, c, nodemsg.All, nil)
		if err == nil {
			mu.Lock()
			all = append(all, r.Kin...)
			mu.Unlock()
		}
		return err
	})
	return all
}

// ask calls f for every live peer at once and logs the failures.
func (p spacePeers) ask(what string, f func(ctx context.Context, c *remote.Client) error) {
	errs := fanOut(context.Background(), p.net.live(), "", peerTimeout, func(ctx context.Context, m raftstate.Member) error {
		return f(ctx, p.net.pool.Client(m.Address))
	})
	for _, e := range errs {
		p.net.log.Warn("peer left out of "+what, "err", e)
	}
}

// outItem is one thing queued for a peer: an event or a signal.
type outItem struct {
	ev  *pidspace.PeerEvent
	sig *nodemsg.Delivery
}

// peerQueue is what waits to go to one peer, and its sender's state.
type peerQueue struct {
	to    string
	items []outItem
	wake  chan struct{}
	seq   uint64
}

// outbox carries events and signals to the other nodes: a queue per
// destination, emptied in order by one sender goroutine per destination,
// which retries a failed batch with backoff and gives it up only when
// Raft says the destination is down (or no member). Send and Signal
// never block.
type outbox struct {
	net   *peerNet
	ctx   context.Context
	epoch uint64
	mu    sync.Mutex
	peers map[string]*peerQueue
}

func newOutbox(ctx context.Context, net *peerNet) *outbox {
	return &outbox{net: net, ctx: ctx, epoch: uint64(time.Now().UnixNano()), peers: make(map[string]*peerQueue)}
}

// Send implements syscalls.PeerEvents.
func (o *outbox) Send(events []pidspace.PeerEvent) {
	for i := range events {
		ev := events[i]
		o.queue(ev.To, outItem{ev: &ev})
	}
}

// queue appends it to to's queue, starting its sender if need be.
func (o *outbox) queue(to string, it outItem) {
	o.mu.Lock()
	q := o.peers[to]
	if q == nil {
		q = &peerQueue{to: to, wake: make(chan struct{}, 1)}
		o.peers[to] = q
		go o.run(q)
	}
	q.items = append(q.items, it)
	o.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next takes the next batch of q: the leading run of events, or of
// signals. It waits for one; nil when the node stops.
func (o *outbox) next(q *peerQueue) []outItem {
	for {
		o.mu.Lock()
		n := 0
		for n < len(q.items) && (q.items[n].ev != nil) == (q.items[0].ev != nil) {
			n++
		}
		batch := q.items[:n:n]
		q.items = q.items[n:]
		o.mu.Unlock()
		if n > 0 {
			return batch
		}
		select {
		case <-o.ctx.Done():
			return nil
		case <-q.wake:
		}
	}
}

// run is q's sender.
func (o *outbox) run(q *peerQueue) {
	for {
		batch := o.next(q)
		if batch == nil {
			return
		}
		q.seq++
		o.deliver(q, batch)
	}
}

// deliver sends batch to q's node until it is taken, the node is down,
// or the node stops.
func (o *outbox) deliver(q *peerQueue, batch []outItem) {
	wait := retryFirst
	for {
		m, ok := o.net.member(q.to)
		if !ok || m.State == raftstate.StateDown {
			o.net.log.Warn("peer down: dropped what was for it", "peer", q.to, "items", len(batch))
			return
		}
		err := o.send(m.Address, q.seq, batch)
		var rerr *remote.RemoteError
		switch {
		case err == nil || o.ctx.Err() != nil:
			return
		case errors.As(err, &rerr):
			// The peer answered, and refused: sending again would not help.
			o.net.log.Warn("peer refused a batch", "peer", q.to, "err", err)
			return
		}
		o.net.log.Debug("peer unreachable; will retry", "peer", q.to, "err", err, "in", wait)
		select {
		case <-o.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// send makes one attempt at batch.
func (o *outbox) send(addr string, seq uint64, batch []outItem) error {
	ctx, cancel := context.WithTimeout(o.ctx, peerTimeout)
	defer cancel()
	c := o.net.pool.Client(addr)
	if batch[0].ev != nil {
		req := &nodemsg.PeerEventsRequest{Epoch: o.epoch, Seq: seq}
		for _, it := range batch {
			req.Events = append(req.Events, *it.ev)
		}
		_, err := remote.Call(ctx, c, nodemsg.PeerEvents, req)
		return err
	}
	req := &nodemsg.SignalRequest{Epoch: o.epoch, Seq: seq}
	for _, it := range batch {
		req.Signals = append(req.Signals, *it.sig)
	}
	_, err := remote.Call(ctx, c, nodemsg.Signal, req)
	return err
}

// peerHost is what the handlers of the peers' messages need of the
// node's local half (Local; a test's stand-in).
type peerHost interface {
	// Post runs f on the tracer thread, in the order given.
	Post(f func())
	// The Kernel's methods for peers (tracer thread).
	ApplyPeerEvent(ev pidspace.PeerEvent)
	DeliverFromPeer(pid, sig int, info *sentry.SigInfo, group pidspace.GroupSend) error
	KillFrom(req syscalls.KillRequest) (forward string, err error)
	// Space is the node's process model (locked; any goroutine).
	Space() *pidspace.Space
}

// inbox remembers, per sending node, the last batch applied, so that a
// batch sent again (its answer was lost) is applied once.
type inbox struct {
	mu   sync.Mutex
	last map[string][2]uint64 // peer → epoch, seq
}

// fresh reports whether batch seq of peer's run epoch is new, and
// records it.
func (in *inbox) fresh(peer string, epoch, seq uint64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.last == nil {
		in.last = make(map[string][2]uint64)
	}
	if l, ok := in.last[peer]; ok && l[0] == epoch && seq <= l[1] {
		return false
	}
	in.last[peer] = [2]uint64{epoch, seq}
	return true
}

// peerServer serves the messages between Spaces for one node.
type peerServer struct {
	host peerHost
	log  *slog.Logger
	in   inbox
	// kill forwards a kill to another node (a PID lent on).
	kill func(ctx context.Context, node string, req *nodemsg.KillRequest) error
	// procCall makes a process call here (Kernel.ProcCallFrom); procs
	// forwards one to another node.
	procCall func(c syscalls.ProcCall) (syscalls.ProcResult, string, error)
	procs    remoteProcs
}

// register serves the peers' messages on srv.
func (ps *peerServer) register(srv *remote.Server) {
	remote.Handle(srv, nodemsg.PeerEvents, ps.handleEvents)
	remote.Handle(srv, nodemsg.Group, ps.handleGroup)
	remote.Handle(srv, nodemsg.All, ps.handleAll)
	remote.Handle(srv, nodemsg.Signal, ps.handleSignal)
	remote.Handle(srv, nodemsg.Kill, ps.handleKill)
	remote.Handle(srv, nodemsg.ProcCall, ps.handleProcCall)
}

// handleEvents queues the events for the tracer thread, in order, and
// answers: the next batch from the same peer is queued after them.
func (ps *peerServer) handleEvents(ctx context.Context, peer string, req *nodemsg.PeerEventsRequest) (*remote.Empty, error) {
	if ps.in.fresh(peer, req.Epoch, req.Seq) {
		for _, ev := range req.Events {
			ps.host.Post(func() { ps.host.ApplyPeerEvent(ev) })
		}
	}
	return &remote.Empty{}, nil
}

// handleGroup answers pidspace.Peers.Group from this node's Space.
func (ps *peerServer) handleGroup(ctx context.Context, peer string, req *nodemsg.GroupRequest) (*pidspace.GroupView, error) {
	v := ps.host.Space().LocalGroup(req.PGID)
	return &v, nil
}

// handleAll answers pidspace.Peers.All from this node's Space.
func (ps *peerServer) handleAll(ctx context.Context, peer string, _ *remote.Empty) (*nodemsg.AllResponse, error) {
	return &nodemsg.AllResponse{Kin: ps.host.Space().LocalAll()}, nil
}
