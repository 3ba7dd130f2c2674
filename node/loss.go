package node

import (
	"context"
	"sync"
	"time"

	"herd/raftstate"
)

// Node loss: when Raft's liveness declares a member down, every process
// that ran there is dead, killed by SIGKILL as far as the others go. Each
// node watches the members its replica holds and, on a member's change to
// down, has its Kernel record the deaths (syscalls.Kernel.NodeLost: waits
// return, orphans are reparented here, PIDs lent there are freed), drops
// what its outbox held for that node, and closes the descriptors it
// proxied for processes placed there or placed here from there: their
// other ends get EOF or EPIPE, and no drain waits for a node that will
// never answer. A member that comes back up restarted with no processes:
// nothing of it is left here to change.

// lossPoll is how often a node looks at the members' states in its
// replica (a read of local memory).
const lossPoll = 200 * time.Millisecond

// watchLoss follows the members' states until ctx ends. Members already
// down when it starts ran nothing this node knows of. A member that
// rejoins with a new incarnation restarted: what ran there before is
// lost as if liveness had said down, also when it came back sooner.
func (cn *Cluster) watchLoss(ctx context.Context, l *Local, out *outbox) {
	down := make(map[string]bool)
	runs := make(map[string]uint64)
	for _, m := range cn.store.Members() {
		down[m.ID] = m.State == raftstate.StateDown
		runs[m.ID] = m.Incarnation
	}
	every(ctx, lossPoll, func() {
		for _, m := range cn.store.Members() {
			if m.ID == cn.ID {
				continue
			}
			isDown := m.State == raftstate.StateDown
			restarted := restartedRun(runs[m.ID], m.Incarnation) && !isDown && !down[m.ID]
			if m.Incarnation != 0 {
				runs[m.ID] = m.Incarnation
			}
			if restarted {
				cn.log.Warn("node restarted before it was declared down", "node", m.ID)
				cn.nodeLost(l, out, m.ID)
				cn.nodeBack(l, m.ID)
				continue
			}
			if isDown == down[m.ID] {
				continue
			}
			down[m.ID] = isDown
			if isDown {
				cn.nodeLost(l, out, m.ID)
			} else {
				cn.nodeBack(l, m.ID)
			}
		}
	})
}

// restartedRun reports whether a member seen with incarnation was now
// has another: a run of it ended and a new one began (zero is a record
// without one, from before incarnations existed or not seen yet).
func restartedRun(was, now uint64) bool {
	return was != 0 && now != 0 && was != now
}

// nodeBack acts on the return of node id, which lost its processes.
func (cn *Cluster) nodeBack(l *Local, id string) {
	cn.log.Info("node back", "node", id)
	l.sentry.Post(func() { l.kernel.NodeBack(id) })
}

// every calls f every period until ctx ends.
func every(ctx context.Context, period time.Duration, f func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f()
	}
}

// nodeLost acts on the loss of node id.
func (cn *Cluster) nodeLost(l *Local, out *outbox, id string) {
	cn.log.Warn("node down: its processes are lost", "node", id)
	out.forget(id)
	l.sentry.Post(func() { l.kernel.NodeLost(id) })
	cn.origins.dropNode(id)
	cn.targets.dropNode(id)
	cn.drains.cancelNode(id)
	if l.ipc != nil {
		// Its IPC objects are gone: calls waiting there end, and the
		// SEM_UNDO of its processes is applied here.
		l.ipc.NodeLost(id)
	}
}

// drains are the drains of placed processes' output in progress, each
// with the node it waits for: the loss of that node ends them.
type drains struct {
	mu    sync.Mutex
	next  uint64
	byKey map[uint64]drain
}

type drain struct {
	node   string
	cancel context.CancelFunc
}

// start returns the context of a drain waiting for node, bounded by
// timeout, and its cancel, which the caller calls when the drain ends.
func (d *drains) start(node string, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byKey == nil {
		d.byKey = make(map[uint64]drain)
	}
	d.next++
	key := d.next
	d.byKey[key] = drain{node: node, cancel: cancel}
	return ctx, func() {
		cancel()
		d.mu.Lock()
		delete(d.byKey, key)
		d.mu.Unlock()
	}
}

// cancelNode ends the drains waiting for node.
func (d *drains) cancelNode(node string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dr := range d.byKey {
		if dr.node == node {
			dr.cancel()
		}
	}
}

// forget drops what is queued for node; a batch being sent is given up
// by its sender once it sees node down.
func (o *outbox) forget(node string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if q := o.peers[node]; q != nil && len(q.items) > 0 {
		o.net.log.Warn("peer down: dropped what was for it", "peer", node, "items", len(q.items))
		q.items = nil
	}
}
