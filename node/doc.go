// Package node is a herd node as a package: what runs in pid 1 of a
// node's namespace.
//
//   - Local (local.go) is the node-local half: herd-init's process model
//     (pidspace.Space and its PID allocator), the emulated kernel
//     (syscalls.Kernel) and the sentry. It is the launch.Runner of the
//     node's launcher socket. RunEmbedded (embedded.go) is herd run's
//     private single-node cluster, a Local alone.
//   - Cluster (cluster.go) is the cluster half: identity (identity.go),
//     the cluster port and Raft replica, membership (join.go), the Raft
//     write forwarder (forward.go), liveness (liveness.go), the RPCs
//     between nodes (rpc.go), and the query fan-out of herd nodes and
//     herd ps (query.go). It is the launch.Queries of the socket.
//   - Run (run.go) is a node daemon: Config (config.go) in, a Cluster,
//     a Local and the launcher socket up, until the context ends.
//   - resources.go is what a node offers (CPUs, memory) and its default
//     name; datadir.go is the layout of its data directory.
//
// Placement (place.go), migration (migrate.go) and the process RPCs of the
// next issues belong beside rpc.go: a Cluster registers their handlers in
// registerRPCs and reaches the Local through its local field.
package node
