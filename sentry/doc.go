// Package sentry is the node-local supervisor of sandboxed processes: the
// node's PID namespace with herd-init as pid 1, spawning, the ptrace tracer
// loop on one locked OS thread, per-task stops, register and memory access,
// and the dispatch of trapped system calls to a Table of handlers.
//
// The sentry knows nothing of clusters: what a trapped call means is decided
// by the handlers in the Table and by the Hooks the owner installs. It only
// provides the mechanism: stop, inspect, rewrite, skip, park and resume.
package sentry
