package node

import (
	"context"

	"herd/remote"
)

// registerRPCs serves the RPCs that need the local half. The process RPCs
// of placement and migration register here too.
func (cn *Cluster) registerRPCs() {
	cn.rpc.Handle(remote.MsgProcs, cn.handleProcs)
	cn.rpc.Handle(remote.MsgStatus, cn.handleStatus)
}

// handleProcs serves MsgProcs: this node's process records.
func (cn *Cluster) handleProcs(ctx context.Context, req *remote.Request) (any, error) {
	return &remote.ProcsResponse{Node: cn.ID, Procs: cn.procs()}, nil
}

func (cn *Cluster) procs() []remote.ProcInfo {
	return remote.ProcTable(cn.ID, cn.local.Space().List(), "/proc")
}

// handleStatus serves MsgStatus: this node's load.
func (cn *Cluster) handleStatus(ctx context.Context, req *remote.Request) (any, error) {
	return cn.status(), nil
}

func (cn *Cluster) status() *remote.NodeStatus {
	st := &remote.NodeStatus{Node: cn.ID, Procs: len(cn.procs())}
	st.Load, _ = remote.ReadLoad("/proc")
	return st
}
