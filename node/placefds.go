package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"herd/node/fdproxy"
	"herd/remote"
	"herd/remote/nodemsg"
	"herd/sentry"
)

// A placed process's descriptors (node/fdproxy): on the node it leaves,
// an Origin holds dups of the ones proxied and pumps them over one
// remote.Stream each, opened once the other node has made the exec
// ready; there, a Target gives the process the other ends. When the
// process exits there, its exit is recorded only after its output is
// written here: the Target drains, the counts come back here
// (nodemsg.Drained), and the Origin waits until its pumps have written
// that much.

// drainTimeout bounds the wait for a placed process's output at its
// exit: a reader that never reads does not keep its exit from being
// reported for ever.
const drainTimeout = 30 * time.Second

// placements are the placements between this node and another, by id:
// the descriptors (an fdproxy.Origin or Target) of each, with its
// process and that other node, until its process's output is drained,
// the placement fails, or the other node is lost.
type placements[T interface{ Close() error }] struct {
	mu    sync.Mutex
	byID  map[string]placement[T]
	byPID map[int]string // the newest placement of each process
}

type placement[T any] struct {
	pid  int
	node string // the node at the other end
	fds  T
}

func (ps *placements[T]) add(id string, pid int, node string, fds T) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.byID == nil {
		ps.byID, ps.byPID = make(map[string]placement[T]), make(map[int]string)
	}
	ps.byID[id] = placement[T]{pid: pid, node: node, fds: fds}
	ps.byPID[pid] = id
}

// get is the descriptors of id; ok false if there is no such placement.
func (ps *placements[T]) get(id string) (fds T, ok bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.byID[id]
	return p.fds, ok
}

// take removes and returns the newest placement of pid.
func (ps *placements[T]) take(pid int) (string, placement[T], bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	id, ok := ps.byPID[pid]
	if !ok {
		return "", placement[T]{}, false
	}
	p := ps.removeLocked(id)
	return id, p, true
}

// forget removes id, whose pumps go on until their streams end.
func (ps *placements[T]) forget(id string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.removeLocked(id)
}

// drop stops and removes every placement that matches.
func (ps *placements[T]) drop(match func(id string, p placement[T]) bool) {
	ps.mu.Lock()
	var gone []T
	for id, p := range ps.byID {
		if match(id, p) {
			ps.removeLocked(id)
			gone = append(gone, p.fds)
		}
	}
	ps.mu.Unlock()
	for _, fds := range gone {
		fds.Close()
	}
}

func (ps *placements[T]) removeLocked(id string) placement[T] {
	p := ps.byID[id]
	delete(ps.byID, id)
	if ps.byPID[p.pid] == id {
		delete(ps.byPID, p.pid)
	}
	return p
}

// dropID stops and removes placement id.
func (ps *placements[T]) dropID(id string) {
	ps.drop(func(pid string, _ placement[T]) bool { return pid == id })
}

// dropPID stops and removes the placements of process pid.
func (ps *placements[T]) dropPID(pid int) {
	ps.drop(func(_ string, p placement[T]) bool { return p.pid == pid })
}

// dropNode stops and removes the placements to or from node.
func (ps *placements[T]) dropNode(node string) {
	ps.drop(func(_ string, p placement[T]) bool { return p.node == node })
}

// origins are the placements this node made (their descriptors'
// Origins), named by this node, its process and a counter.
type origins struct {
	placements[*fdproxy.Origin]
	self string
	next atomic.Uint64
}

// add registers origin, the descriptors of pid's placement on node, and
// names it.
func (o *origins) add(pid int, node string, origin *fdproxy.Origin) string {
	id := fmt.Sprintf("%s.%d.%d", o.self, pid, o.next.Add(1))
	o.placements.add(id, pid, node, origin)
	return id
}

// targets are the placements other nodes made here (their descriptors'
// Targets), by the ids those nodes gave them.
type targets = placements[*fdproxy.Target]

// openFdStreams opens a stream to the node at addr for each proxied fd
// of placement id and starts origin's pump on it.
func (cn *Cluster) openFdStreams(ctx context.Context, addr, id string, fds []fdproxy.FD, origin *fdproxy.Origin) error {
	for _, d := range fds {
		if !d.Proxied() {
			continue
		}
		s, err := cn.pool.OpenStream(ctx, addr, fdproxy.StreamName(id, d.Num))
		if err != nil {
			return fmt.Errorf("carry fd %d: %w", d.Num, err)
		}
		if err := origin.Serve(d.Num, s); err != nil {
			s.Abort(err)
			return fmt.Errorf("carry fd %d: %w", d.Num, err)
		}
	}
	return nil
}

// acceptFdStreams serves the streams other nodes open for the
// descriptors of processes placed here, until the port closes.
func (cn *Cluster) acceptFdStreams() {
	for {
		s, err := cn.lis.AcceptStream()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			cn.log.Warn("accept stream", "err", err)
			continue
		}
		id, num, ok := fdproxy.ParseStreamName(s.Name())
		var t *fdproxy.Target
		if ok {
			t, ok = cn.targets.get(id)
		}
		if !ok {
			s.Abort(fmt.Errorf("stream %q: no such placement: %w", s.Name(), unix.ESRCH))
			continue
		}
		if err := t.Serve(num, s); err != nil {
			s.Abort(err)
		}
	}
}

// Drain implements syscalls.ExecPlacer: a process placed here exited.
func (p *placer) Drain(pid int, done func()) bool {
	id, e, ok := p.cn.targets.take(pid)
	if !ok {
		return false
	}
	sentry.Trace("place: exited, drain")
	go func() {
		defer done()
		ctx, cancel := p.cn.drains.start(e.node, drainTimeout)
		defer cancel()
		counts, err := e.fds.Drain(ctx)
		if err == nil {
			err = p.cn.drained(ctx, e.node, id, counts)
		}
		if err != nil {
			p.cn.log.Warn("exit reported before its output was written", "pid", pid, "err", err)
		}
	}()
	return true
}

// drained tells node, where placement id came from, how much the process
// wrote, and waits until it is written there.
func (cn *Cluster) drained(ctx context.Context, node, id string, counts map[int]uint64) error {
	if len(counts) == 0 {
		return nil
	}
	m, ok := cn.store.FSM().Member(node)
	if !ok {
		return fmt.Errorf("drain to %s: no such node", node)
	}
	_, err := remote.Call(ctx, cn.pool.Client(m.Address), nodemsg.Drained, &nodemsg.DrainRequest{ID: id, Counts: counts})
	return err
}

// handleDrained serves nodemsg.Drained: it answers once the pumps of a
// placement made here have written what the process wrote there.
func (cn *Cluster) handleDrained(ctx context.Context, peer string, req *nodemsg.DrainRequest) (*remote.Empty, error) {
	o, ok := cn.origins.get(req.ID)
	if !ok {
		return nil, fmt.Errorf("drain %s: no such placement: %w", req.ID, unix.ESRCH)
	}
	defer cn.origins.forget(req.ID)
	return &remote.Empty{}, o.WaitWritten(ctx, req.Counts)
}
