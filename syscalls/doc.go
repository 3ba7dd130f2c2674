// Package syscalls is herd's syscall table: one row per system call with
// its disposition (native, trapped, denied), its handler and a support
// note, and the handlers grouped one file per family as gVisor groups
// them (clone.go, exec.go, wait.go, signal.go, identity.go, prctl.go,
// rusage.go, session.go, pidfd.go, sandbox.go), each handler named after
// its call. The seccomp filter and docs/syscalls.md are both generated
// from the table (table.go).
//
// The handlers emulate what must be cluster-global: the POSIX process
// tree (getppid, wait, SIGCHLD), process groups and sessions, and signal
// routing. Everything else runs natively in the kernel. They see the
// calling thread through a small task interface (task.go) and the world
// through the services of services.go (ProcessModel, Signaller,
// Placement), so that they can be unit-tested without ptrace and a
// cluster implementation of a service can replace the node-local one.
// kernel.go holds the sentry's hooks; launch.go the bookkeeping of
// programs started by launchers.
package syscalls
