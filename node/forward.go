package node

import (
	"context"

	"herd/raftstate"
	"herd/remote"
)

// Forwarder sends Raft writes to the leader over herd RPC: the
// raftstate.Forwarder of every node's Writer.
type Forwarder struct{ Pool *remote.Pool }

// Forward implements raftstate.Forwarder.
func (f Forwarder) Forward(ctx context.Context, addr string, req *raftstate.ForwardRequest) (*raftstate.ForwardResponse, error) {
	var resp raftstate.ForwardResponse
	if err := f.Pool.Client(addr).Call(ctx, remote.MsgForward, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ForwardHandler serves MsgForward, a write for the leader, from store. A
// node that does not lead answers NotLeader with the leader's address.
func ForwardHandler(store *raftstate.Store) remote.Handler {
	return func(ctx context.Context, req *remote.Request) (any, error) {
		var fr raftstate.ForwardRequest
		if err := req.Decode(&fr); err != nil {
			return nil, err
		}
		return store.ServeForwarded(ctx, req.Peer, &fr), nil
	}
}
