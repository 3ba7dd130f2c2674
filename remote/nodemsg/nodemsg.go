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
	"herd/pidspace"
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

// The messages between the Spaces of different nodes (see node/peers.go
// and node/signal.go).
var (
	// PeerEvents carries, in order, the pidspace.PeerEvents one node's
	// Space returned for the receiver's (Effects.Remote).
	PeerEvents = remote.Bind[PeerEventsRequest, remote.Empty](remote.NumPeerEvents)
	// Group asks a node what it homes of a process group
	// (pidspace.Peers.Group, answered with Space.LocalGroup).
	Group = remote.Bind[GroupRequest, pidspace.GroupView](remote.NumPeerGroup)
	// All asks a node for every record it homes (pidspace.Peers.All,
	// answered with Space.LocalAll).
	All = remote.Bind[remote.Empty, AllResponse](remote.NumPeerAll)
	// Signal carries signals to processes running on the receiver, each
	// with the sender's siginfo; they are delivered by its sentry.
	Signal = remote.Bind[SignalRequest, remote.Empty](remote.NumSignal)
	// Kill asks the node that holds a PID's lease to decide and deliver a
	// process-directed signal to it; the answer is the call's errno.
	Kill = remote.Bind[KillRequest, remote.Empty](remote.NumKill)
	// ProcCall asks the node a PID runs on to make a process call on it
	// (prlimit, sched_*, get/setpriority) for a process of the sender,
	// with Linux's permission checks; an error carries the call's errno.
	ProcCall = remote.Bind[ProcCallRequest, ProcCallResponse](remote.NumProcCall)
)

// ProcCallRequest is syscalls.ProcCall, with the hops of a PID lent on
// to another node (Forwarded).
type ProcCallRequest struct {
	Nr        int            `json:"nr"`
	PID       int            `json:"pid"`
	Args      [6]uint64      `json:"args"`
	In        []byte         `json:"in,omitempty"`
	Creds     pidspace.Creds `json:"creds"`
	Caps      uint64         `json:"caps"`
	Forwarded int            `json:"forwarded,omitempty"`
}

// ProcCallResponse is syscalls.ProcResult.
type ProcCallResponse struct {
	Ret int64  `json:"ret"`
	Out []byte `json:"out,omitempty"`
}

// PeerEventsRequest is a batch of events for the receiving node. Epoch
// names one run of the sending node and Seq numbers its batches to this
// receiver from 1, so that a batch sent again after a lost answer is
// applied once.
type PeerEventsRequest struct {
	Epoch  uint64               `json:"epoch"`
	Seq    uint64               `json:"seq"`
	Events []pidspace.PeerEvent `json:"events"`
}

// GroupRequest asks about process group PGID.
type GroupRequest struct {
	PGID int `json:"pgid"`
}

// AllResponse answers All.
type AllResponse struct {
	Kin []pidspace.Kin `json:"kin"`
}

// Delivery is one signal to process PID on the receiver, with the
// siginfo the receiver's process gets (sentry.SigInfo's 128 bytes).
type Delivery struct {
	PID  int    `json:"pid"`
	Sig  int    `json:"sig"`
	Info []byte `json:"info,omitempty"`
	// Group marks a member of a group send (pidspace.GroupSend): the
	// receiver gives the signal to the children it forked since it was
	// listed, too.
	Group *pidspace.GroupSend `json:"group,omitempty"`
}

// SignalRequest carries signals in the order they were sent, under the
// same Epoch and Seq numbering as PeerEventsRequest (one sequence per
// receiver for both).
type SignalRequest struct {
	Epoch   uint64     `json:"epoch"`
	Seq     uint64     `json:"seq"`
	Signals []Delivery `json:"signals"`
}

// KillRequest is kill(PID, Sig) (or rt_sigqueueinfo, with the caller's
// siginfo Info) by a process of the sending node, with what the receiver
// needs to check permission as Linux does: the sender's PID, session and
// credentials. Forwarded counts the hops of a PID lent on to another
// node.
type KillRequest struct {
	Sender    int            `json:"sender"`
	SenderSID int            `json:"sender_sid"`
	Creds     pidspace.Creds `json:"creds"`
	PID       int            `json:"pid"`
	Sig       int            `json:"sig"`
	// Queued is set for rt_sigqueueinfo: Info is the caller's own.
	Queued    bool   `json:"queued,omitempty"`
	Info      []byte `json:"info,omitempty"`
	Forwarded int    `json:"forwarded,omitempty"`
}
