package raftstate

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"herd/pidspace"
)

// DefaultLeaseTimeout bounds one PID block lease. A lease runs in the
// allocator's background goroutine while the node still has a reserve;
// only a node whose reserve is gone waits for it, and then fork fails with
// EAGAIN after this long rather than hang while there is no leader.
const DefaultLeaseTimeout = 10 * time.Second

// PIDBlocks is the cluster's pidspace.BlockSource: blocks are PID leases
// committed through Raft, so no two nodes ever hold the same PID.
//
// A node that restarts still holds the leases of its previous run (they
// are replicated state). Its processes died with its PID namespace, so no
// record of their PIDs lives on this node; PIDBlocks hands those leases
// out again first instead of leaking them, and leases new blocks only
// after.
type PIDBlocks struct {
	w *Writer
	// Timeout bounds one lease or release (DefaultLeaseTimeout if 0).
	Timeout time.Duration

	mu    sync.Mutex
	adopt []pidspace.Block
}

var _ pidspace.BlockSource = (*PIDBlocks)(nil)

// NewPIDBlocks returns the block source of the writer's node. It adopts
// the leases the local replica shows for the node, so call it after
// Writer.Sync.
func NewPIDBlocks(w *Writer) *PIDBlocks {
	b := &PIDBlocks{w: w}
	self := w.store.NodeID()
	for _, l := range w.store.Leases() {
		if l.Node == self {
			b.adopt = append(b.adopt, l.Block)
		}
	}
	return b
}

// Adopted is how many leases of a previous run are still to be handed out.
func (b *PIDBlocks) Adopted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.adopt)
}

func (b *PIDBlocks) timeout() time.Duration {
	if b.Timeout > 0 {
		return b.Timeout
	}
	return DefaultLeaseTimeout
}

// LeaseBlock implements pidspace.BlockSource. Failures wrap EAGAIN, which
// is what fork returns when no PID can be had.
func (b *PIDBlocks) LeaseBlock(ctx context.Context) (pidspace.Block, error) {
	b.mu.Lock()
	if len(b.adopt) > 0 {
		blk := b.adopt[0]
		b.adopt = b.adopt[1:]
		b.mu.Unlock()
		return blk, nil
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, b.timeout())
	defer cancel()
	var blk pidspace.Block
	index, err := b.w.Apply(ctx, PIDLease{Node: b.w.store.NodeID()}, &blk)
	if err != nil {
		return pidspace.Block{}, fmt.Errorf("lease pid block: %w: %w", syscall.EAGAIN, err)
	}
	// Read-your-writes: once a node hands out a PID, its own replica shows
	// the lease it came from. The block is ours already if this times out.
	b.w.store.WaitApplied(ctx, index)
	return blk, nil
}

// ReleaseBlock implements pidspace.BlockSource.
func (b *PIDBlocks) ReleaseBlock(ctx context.Context, blk pidspace.Block) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout())
	defer cancel()
	if err := b.w.ReleasePIDBlock(ctx, blk.Start); err != nil {
		return fmt.Errorf("release pid block %v: %w", blk, err)
	}
	return nil
}
