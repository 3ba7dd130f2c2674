// Package ipc is herd's cluster service of System V IPC (DESIGN.md
// decision 9; docs/architecture.md, "System V IPC"): message queues whose
// names (key → id) are bound cluster-wide through a Names service (Raft on
// a cluster's node, a map on a node alone), each living at the node that
// created it (its owner), where every operation on it is carried out.
// A Service answers a node's calls: an object it owns in memory, any
// other by a Request to its owner (Peers), which serves it with
// Service.Serve.
//
// The package imports nothing of herd's: the syscall handlers
// (syscalls/ipc_msg.go) read and write the caller's memory and turn
// Replies into results; the node wires Names and Peers.
package ipc
