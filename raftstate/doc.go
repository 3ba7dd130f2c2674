// Package raftstate owns herd's replicated cluster metadata and the
// hashicorp/raft wiring that replicates it.
//
// What goes through Raft (decision 5): membership and node resources, PID
// block leases, System V IPC key bindings and the cluster config — small,
// rarely changing facts every node must agree on. Nothing on a hot path
// (fork, exit, kill, wait) waits for a commit: a node leases a block of 1024
// PIDs once and allocates from it locally.
//
// Liveness is deliberately not replicated beat by beat. The leader keeps
// the last heartbeat time of every node in memory (Liveness) and commits
// only state transitions (up → suspect → down, and back to up), stamped with
// the heartbeat time that caused them. A new leader starts every node with
// a fresh grace period, so a leader change never marks live nodes down.
//
// Pieces:
//
//   - Command and its encoding (command.go): one type byte + a JSON body;
//   - State and FSM (state.go, fsm.go): the deterministic state machine,
//     with JSON snapshots of the whole state;
//   - Store (store.go): a raft node on raft-boltdb/v2 storage with a file
//     snapshot store and a NetworkTransport over any raft.StreamLayer (the
//     daemon passes remote's TLS stream layer; tests use plain TCP);
//   - the voter policy (voters.go): the first Config.Voters nodes vote,
//     later ones join as non-voters, and the leader promotes a non-voter
//     when a voter leaves.
//
// Writes must be made on the leader; Store methods that write return an
// error wrapping ErrNotLeader elsewhere, and forwarding to the leader is the
// caller's job (over remote). Reads (Members, Leases, …) are served from the
// local FSM and may lag the leader slightly on followers.
package raftstate
