// Package syscalls is herd's syscall table: one row per system call with
// its disposition (native, trapped, denied), its handler and a support
// note, and the handlers grouped one file per family (process.go,
// wait.go, signal.go, session.go …). The seccomp filter and
// docs/syscalls.md are both generated from the table.
//
// The handlers emulate, from the cluster process model in pidspace, what
// must be cluster-global: the POSIX process tree (getppid, wait, SIGCHLD),
// process groups and sessions, and signal routing. Everything else runs
// natively in the kernel.
package syscalls
