package node

import (
	"context"
	"errors"
	"time"

	"herd/raftstate"
)

// heartbeats tells the leader this node lives, every period.
func (cn *Cluster) heartbeats(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, period)
		if err := cn.writer.Heartbeat(hctx); err != nil && ctx.Err() == nil {
			cn.log.Debug("heartbeat", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchLiveness, on the leader, commits the up/suspect/down changes the
// heartbeats call for.
func (cn *Cluster) watchLiveness(ctx context.Context, period time.Duration) {
	every(ctx, period, func() {
		if !cn.store.IsLeader() {
			return
		}
		cn.store.Heartbeat(cn.ID)
		lctx, cancel := context.WithTimeout(ctx, 5*period)
		if _, err := cn.store.CheckLiveness(lctx); err != nil && !errors.Is(err, raftstate.ErrNotLeader) && ctx.Err() == nil {
			cn.log.Warn("check liveness", "err", err)
		}
		cancel()
	})
}
