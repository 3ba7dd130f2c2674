package node

import (
	"context"

	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
)

// Forwarder sends Raft writes to the leader over herd RPC: the
// raftstate.Forwarder of every node's Writer.
type Forwarder struct{ Pool *remote.Pool }

// Forward implements raftstate.Forwarder.
func (f Forwarder) Forward(ctx context.Context, addr string, req *raftstate.ForwardRequest) (*raftstate.ForwardResponse, error) {
	return remote.Call(ctx, f.Pool.Client(addr), nodemsg.Forward, req)
}

// ServeForward serves nodemsg.Forward, a write for the leader, from store
// on srv. A node that does not lead answers NotLeader with the leader's
// address.
func ServeForward(srv *remote.Server, store *raftstate.Store) {
	remote.Handle(srv, nodemsg.Forward, func(ctx context.Context, peer string, fr *raftstate.ForwardRequest) (*raftstate.ForwardResponse, error) {
		return store.ServeForwarded(ctx, peer, fr), nil
	})
}
