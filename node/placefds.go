package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"herd/node/fdproxy"
	"herd/remote"
	"herd/remote/nodemsg"
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

// origins are the placements this node made, by id, until their
// process's output is drained (or they are aborted).
type origins struct {
	mu   sync.Mutex
	self string
	next uint64
	byID map[string]originEntry
}

type originEntry struct {
	pid    int
	node   string // where the process went
	origin *fdproxy.Origin
}

// add registers origin, the descriptors of pid's placement on node, and
// names it.
func (o *origins) add(pid int, node string, origin *fdproxy.Origin) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	id := fmt.Sprintf("%s.%d.%d", o.self, pid, o.next)
	if o.byID == nil {
		o.byID = make(map[string]originEntry)
	}
	o.byID[id] = originEntry{pid: pid, node: node, origin: origin}
	return id
}

func (o *origins) get(id string) *fdproxy.Origin {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byID[id].origin
}

// forget drops id, whose pumps go on until their streams end.
func (o *origins) forget(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.byID, id)
}

// drop stops and drops id (its placement failed).
func (o *origins) drop(id string) {
	o.mu.Lock()
	e, ok := o.byID[id]
	delete(o.byID, id)
	o.mu.Unlock()
	if ok {
		e.origin.Close()
	}
}

// dropPID stops and drops the placements of pid that are in flight.
func (o *origins) dropPID(pid int) {
	for _, id := range idsWhere(&o.mu, o.byID, func(e originEntry) bool { return e.pid == pid }) {
		o.drop(id)
	}
}

// targets are the placements made here by other nodes, by id, until
// their process's output is drained (or they are aborted).
type targets struct {
	mu   sync.Mutex
	byID map[string]targetEntry
}

type targetEntry struct {
	pid    int
	origin string // the node it came from
	target *fdproxy.Target
}

func (t *targets) add(id string, pid int, origin string, target *fdproxy.Target) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID = make(map[string]targetEntry)
	}
	t.byID[id] = targetEntry{pid: pid, origin: origin, target: target}
}

func (t *targets) get(id string) *fdproxy.Target {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id].target
}

// take removes and returns the placement of pid.
func (t *targets) take(pid int) (string, targetEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.byID {
		if e.pid == pid {
			delete(t.byID, id)
			return id, e, true
		}
	}
	return "", targetEntry{}, false
}

// drop stops and drops id.
func (t *targets) drop(id string) {
	t.mu.Lock()
	e, ok := t.byID[id]
	delete(t.byID, id)
	t.mu.Unlock()
	if ok {
		e.target.Close()
	}
}

// dropPID stops and drops the placement of pid, if any.
func (t *targets) dropPID(pid int) {
	if _, e, ok := t.take(pid); ok {
		e.target.Close()
	}
}

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
			t = cn.targets.get(id)
		}
		if t == nil {
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
	go func() {
		defer done()
		ctx, cancel := p.cn.drains.start(e.origin, drainTimeout)
		defer cancel()
		counts, err := e.target.Drain(ctx)
		if err == nil {
			err = p.cn.drained(ctx, e.origin, id, counts)
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
	o := cn.origins.get(req.ID)
	if o == nil {
		return nil, fmt.Errorf("drain %s: no such placement: %w", req.ID, unix.ESRCH)
	}
	defer cn.origins.forget(req.ID)
	return &remote.Empty{}, o.WaitWritten(ctx, req.Counts)
}
