package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"herd/node/fdproxy"
	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
	"herd/sentry"
	"herd/syscalls"
)

// Placement policies: where the execs of a launched program and its
// descendants go. "" is the cluster's default (raftstate.ClusterConfig).
const (
	PlaceLocal       = "local"        // never moves
	PlaceSpread      = "spread"       // every exec to the next node, round-robin
	PlaceLeastLoaded = "least-loaded" // to the node with the most idle CPU
	placeNodePrefix  = "node:"        // node:ID, to that node
)

// CheckPolicy says whether policy names a placement policy; "" is the
// cluster's default.
func CheckPolicy(policy string) error {
	switch {
	case policy == "", policy == PlaceLocal, policy == PlaceSpread, policy == PlaceLeastLoaded:
		return nil
	case strings.HasPrefix(policy, placeNodePrefix) && len(policy) > len(placeNodePrefix):
		return nil
	}
	return fmt.Errorf("placement %q: want local, spread, least-loaded or node:ID", policy)
}

// prepareTimeout bounds preparing an exec on another node: past it, the
// exec runs here.
const prepareTimeout = 10 * time.Second

// placer is a cluster node's syscalls.ExecPlacer: it chooses a node by
// policy and hands execs to it over RPC.
type placer struct {
	cn   *Cluster
	next atomic.Uint64 // round-robin cursor of spread

	loadsMu sync.Mutex
	loads   map[string]float64 // idle CPUs by node, from the last poll
	polled  time.Time
}

func newPlacer(cn *Cluster) *placer { return &placer{cn: cn, loads: make(map[string]float64)} }

// Place implements syscalls.ExecPlacer. Tracer thread: it answers from
// the replica's membership and cached loads, never waiting.
func (p *placer) Place(pid int, policy string) string {
	if policy == "" {
		policy = p.cn.store.FSM().ClusterConfig().Placement
	}
	if id, ok := strings.CutPrefix(policy, placeNodePrefix); ok {
		if m, ok := p.cn.store.FSM().Member(id); ok && m.State == raftstate.StateUp {
			return id
		}
		return ""
	}
	if policy != PlaceSpread && policy != PlaceLeastLoaded {
		return "" // local: nothing to look at
	}
	up := p.upMembers()
	switch {
	case len(up) == 0:
		return ""
	case policy == PlaceSpread:
		return up[p.next.Add(1)%uint64(len(up))].ID
	default:
		return p.leastLoaded(up)
	}
}

// upMembers are the members that are up, in ID order.
func (p *placer) upMembers() []raftstate.Member {
	ms := slices.DeleteFunc(p.cn.store.Members(), func(m raftstate.Member) bool { return m.State != raftstate.StateUp })
	slices.SortFunc(ms, func(a, b raftstate.Member) int { return strings.Compare(a.ID, b.ID) })
	return ms
}

// loadsMaxAge is how old the loads least-loaded decides on may be.
const loadsMaxAge = time.Second

// leastLoaded is the up member with the most idle CPUs (CPUs less the
// one-minute load), from the last poll of every node's status; a poll is
// started when that is older than loadsMaxAge. Ties go to this node,
// then in ID order.
func (p *placer) leastLoaded(up []raftstate.Member) string {
	p.loadsMu.Lock()
	defer p.loadsMu.Unlock()
	if time.Since(p.polled) > loadsMaxAge {
		p.polled = time.Now()
		go p.pollLoads(up)
	}
	return mostIdle(up, p.loads, p.cn.ID)
}

// mostIdle is the member of up with the most idle CPUs (idle, or all its
// CPUs while its load is not known yet); ties go to self, then to the
// first in up.
func mostIdle(up []raftstate.Member, idle map[string]float64, self string) string {
	best, bestIdle := "", 0.0
	for _, m := range up {
		n, ok := idle[m.ID]
		if !ok {
			n = float64(m.CPUs)
		}
		if best == "" || n > bestIdle || n == bestIdle && m.ID == self {
			best, bestIdle = m.ID, n
		}
	}
	return best
}

// pollLoads asks every member for its load.
func (p *placer) pollLoads(up []raftstate.Member) {
	fanOut(context.Background(), up, "", queryTimeout, func(ctx context.Context, m raftstate.Member) error {
		st, err := p.cn.statusOf(ctx, m)
		if err != nil {
			return err
		}
		p.loadsMu.Lock()
		p.loads[m.ID] = float64(m.CPUs) - st.Load[0]
		p.loadsMu.Unlock()
		return nil
	})
}

// Prepare implements syscalls.ExecPlacer.
func (p *placer) Prepare(ctx context.Context, node string, x *syscalls.ExecPlan) error {
	m, ok := p.cn.store.FSM().Member(node)
	if !ok {
		return fmt.Errorf("prepare exec on %s: no such node", node)
	}
	pid := x.Spec.PID
	fds, err := fdproxy.Classify(pid)
	if err != nil {
		return fmt.Errorf("prepare exec on %s: %w", node, err)
	}
	origin, err := fdproxy.NewOrigin(pid, fds)
	if err != nil {
		return fmt.Errorf("prepare exec on %s: %w", node, err)
	}
	id := p.cn.origins.add(pid, node, origin)
	ctx, cancel := context.WithTimeout(ctx, prepareTimeout)
	defer cancel()
	_, err = remote.Call(ctx, p.cn.pool.Client(m.Address), nodemsg.PlacePrepare, &nodemsg.PrepareRequest{Plan: *x, ID: id, Fds: fds})
	if err == nil {
		err = p.cn.openFdStreams(ctx, m.Address, id, fds, origin)
	}
	if err != nil {
		p.cn.origins.dropID(id)
		return err
	}
	return nil
}

// Abort implements syscalls.ExecPlacer: it tells node, without waiting.
func (p *placer) Abort(node string, pid int) {
	p.cn.origins.dropPID(pid)
	m, ok := p.cn.store.FSM().Member(node)
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
		defer cancel()
		if _, err := remote.Call(ctx, p.cn.pool.Client(m.Address), nodemsg.PlaceAbort, &nodemsg.AbortRequest{PID: pid}); err != nil {
			p.cn.log.Warn("abort prepared exec", "node", node, "pid", pid, "err", err)
		}
	}()
}

// handlePrepare serves nodemsg.PlacePrepare: the exec is made ready here,
// its program held at its exec until the record follows.
func (cn *Cluster) handlePrepare(ctx context.Context, peer string, req *nodemsg.PrepareRequest) (*remote.Empty, error) {
	target, err := fdproxy.NewTarget(req.Fds)
	if err != nil {
		return nil, err
	}
	files := make(map[int]int)
	for _, e := range target.Ends() {
		files[e.Num] = e.Fd
	}
	pid := req.Plan.Spec.PID
	sentry.Trace("place: request received")
	cn.targets.add(req.ID, pid, peer, target)
	done := make(chan error, 1)
	cn.local.sentry.Post(func() {
		cn.local.kernel.PrepareExec(&req.Plan, files, func(err error) {
			// The process has its own copies now (or none).
			target.CloseEnds()
			if err != nil {
				cn.targets.dropID(req.ID)
			}
			sentry.Trace("place: ready")
			done <- err
		})
	})
	select {
	case err := <-done:
		return &remote.Empty{}, err
	case <-ctx.Done():
		// The caller gave up: what is being made ready is dropped
		// once it is.
		cn.local.sentry.Post(func() { cn.local.kernel.AbortExec(pid) })
		return nil, ctx.Err()
	}
}

// handleAbort serves nodemsg.PlaceAbort.
func (cn *Cluster) handleAbort(ctx context.Context, peer string, req *nodemsg.AbortRequest) (*remote.Empty, error) {
	cn.local.sentry.Post(func() { cn.local.kernel.AbortExec(req.PID) })
	cn.targets.dropPID(req.PID)
	return &remote.Empty{}, nil
}
