package node

import (
	"context"
	"time"

	"herd/pidspace"
	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
)

// A placed process's PID is lent by its lease holder: the node where its
// record is finally removed frees it in its allocator, which hands a PID
// of another node's block to returnPID (BlockAllocator.SetForeign); the
// lease holder frees it on nodemsg.PIDReturned. Until then no node reuses
// it. A holder that is down gets nothing: its leases stay until it comes
// back, and a restarted node has no records of its old PIDs.

// returnPID gives pid back to its lease holder, in the background,
// retrying until it is taken or the holder is down. Any goroutine.
func (cn *Cluster) returnPID(ctx context.Context, pid int) {
	go func() {
		wait := retryFirst
		for ctx.Err() == nil {
			holder, ok := cn.leaseHolder(pid)
			if !ok || holder.ID == cn.ID || holder.State == raftstate.StateDown {
				cn.log.Debug("returned pid has no live holder", "pid", pid, "holder", holder.ID)
				return
			}
			actx, cancel := context.WithTimeout(ctx, peerTimeout)
			_, err := remote.Call(actx, cn.pool.Client(holder.Address), nodemsg.PIDReturned, &nodemsg.PIDReturn{PID: pid})
			cancel()
			if err == nil {
				return
			}
			cn.log.Debug("return pid", "pid", pid, "holder", holder.ID, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, retryMax)
		}
	}()
}

// leaseHolder is the member holding the PID block of pid.
func (cn *Cluster) leaseHolder(pid int) (raftstate.Member, bool) {
	return cn.store.FSM().Member(cn.store.FSM().LeaseHolder(pid))
}

// handlePIDReturned serves nodemsg.PIDReturned: a PID this node lent is
// free again.
func (cn *Cluster) handlePIDReturned(ctx context.Context, peer string, req *nodemsg.PIDReturn) (*remote.Empty, error) {
	if cn.alloc == nil || !cn.alloc.Owns(req.PID) {
		cn.log.Warn("returned pid is not ours", "pid", req.PID, "from", peer)
		return &remote.Empty{}, nil
	}
	// Freed once nothing here refers to it (a group of that id may
	// live on here).
	cn.local.Space().Returned(req.PID)
	return &remote.Empty{}, nil
}

// lendPIDs makes alloc, the node's allocator, give back the PIDs of
// other nodes' blocks that it frees.
func (cn *Cluster) lendPIDs(ctx context.Context, alloc *pidspace.BlockAllocator) {
	cn.alloc = alloc
	alloc.SetForeign(func(pid int) { cn.returnPID(ctx, pid) })
}
