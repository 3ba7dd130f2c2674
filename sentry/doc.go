// Package sentry is the node-local supervisor of sandboxed processes: the
// node's PID namespace with herd-init as pid 1, spawning, the ptrace tracer
// loop on one locked OS thread, per-task stops, register and memory access,
// and the dispatch of trapped system calls to a Table of handlers.
//
// The sentry knows nothing of clusters: what a trapped call means is decided
// by the handlers in the Table and by the Hooks the owner installs. It only
// provides the mechanism: stop, inspect, rewrite, skip, park and resume,
// and run a call's slow part off the tracer thread (Async).
//
// Files: sentry.go the Sentry and its tracer loop; stop.go the dispatch of
// each wait4 report by kind of stop, to stop_syscall.go (syscall entry and
// exit), stop_event.go (clone, exec and exit events), stop_signal.go
// (group-stops and signal-delivery stops) and stop_interrupt.go
// (PTRACE_INTERRUPT stops); park.go and async.go blocked calls;
// regs_amd64.go the register ABI and extended state; inject.go injected
// calls; clone.go the fork lock and the order creator and child run in;
// phantom.go deaths before birth and the guard against tasks that cannot
// exist; spawn.go and helper.go the shim; standin.go and standin_child.go
// the launcher's stand-in, attrs.go the attributes it and the shim take;
// bell.go the tracer's wake-up; init.go herd-init's namespaces.
package sentry
