// Package raftstate wires hashicorp/raft: the FSM of cluster metadata
// (members, PID block leases, IPC names, cluster config), its snapshots,
// the raft-boltdb stores, bootstrap and join.
package raftstate
