// Package nodemsg binds the node daemon's messages of remote's message
// table to their Go payload types. remote is transport and imports
// nothing of herd's; the payloads belong to the packages that define them
// (raftstate's forwarded writes, procview's ps rows), so the descriptors
// that join the two live here, one level up, for the node to call and
// serve:
//
//	resp, err := remote.Call(ctx, pool.Client(addr), nodemsg.Procs, nil)
//	remote.Handle(srv, nodemsg.Procs, func(ctx context.Context, peer string, _ *remote.Empty) (*nodemsg.ProcsResponse, error) { … })
package nodemsg

import (
	"herd/procview"
	"herd/raftstate"
	"herd/remote"
)

// The node daemon's messages. Payloads are JSON.
var (
	// Forward carries a write to the Raft leader.
	Forward = remote.Bind[raftstate.ForwardRequest, raftstate.ForwardResponse](remote.NumForward)
	// Procs asks a node for the processes whose PIDs it homes.
	Procs = remote.Bind[remote.Empty, ProcsResponse](remote.NumProcs)
	// Status asks a node for its load.
	Status = remote.Bind[remote.Empty, NodeStatus](remote.NumStatus)
)

// ProcsResponse answers Procs.
type ProcsResponse struct {
	Node  string         `json:"node"`
	Procs []procview.Row `json:"procs"`
}

// NodeStatus answers Status: what a node's load is now. It is not
// replicated; `herd nodes` asks every node when it runs, and the cluster
// /proc view (Stat: the node's CPUs with their times, its memory, uptime
// and counters) every node about once a second while a program reads it.
type NodeStatus struct {
	Node  string             `json:"node"`
	Load  [3]float64         `json:"load"`
	Procs int                `json:"procs"`
	Stat  *procview.NodeStat `json:"stat,omitempty"`
}
