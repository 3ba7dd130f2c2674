package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"herd/raftstate"
)

// joinRetry is the pause between attempts to join.
const joinRetry = 100 * time.Millisecond

// join makes this node a member (or refreshes its record when it
// restarts): through the leader it knows of, else through via, the node
// given by --join, which answers with the leader's address when it does
// not lead itself.
func (cn *Cluster) join(ctx context.Context, via string, self raftstate.Member) error {
	req := &raftstate.ForwardRequest{Join: &self}
	target := via
	var last error = errors.New("no leader known yet")
	for {
		next, done, err := cn.tryJoin(ctx, req, via, target)
		if done {
			return err
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("join: %w (last attempt: %v)", ctx.Err(), last)
		case <-time.After(joinRetry):
		}
		target = next
	}
}

// tryJoin makes one attempt: locally if this node leads, else at the
// leader it knows of or at target. It returns where to try next, whether
// the join is over (and how it ended), and why this attempt failed.
func (cn *Cluster) tryJoin(ctx context.Context, req *raftstate.ForwardRequest, via, target string) (next string, done bool, err error) {
	if addr, id := cn.store.Leader(); id == cn.ID {
		resp := cn.store.ServeForwarded(ctx, cn.ID, req)
		if resp.Err == "" {
			return "", true, cn.store.WaitApplied(ctx, resp.Index)
		}
		err = errors.New(resp.Err)
	} else if id != "" {
		target = addr
	}
	next = via
	if target == "" {
		return next, false, err
	}
	resp, ferr := Forwarder{cn.pool}.Forward(ctx, target, req)
	switch {
	case ferr != nil:
		return next, false, ferr
	case resp.NotLeader:
		if resp.Leader != "" {
			next = resp.Leader
		}
		return next, false, errors.New(resp.Err)
	case resp.Err != "":
		return "", true, fmt.Errorf("join: %s", resp.Err)
	}
	return "", true, cn.store.WaitApplied(ctx, resp.Index)
}
