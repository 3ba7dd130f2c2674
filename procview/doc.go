// Package procview is herd's one reader of the kernel's /proc: a task's
// status (identity, credentials, signal masks), its stat line (state, CPU
// time, start time, threads, memory), its command line, from fdinfo a
// pidfd's target and an fd's position and flags, the node's load and
// memory, and the rows `herd ps` shows, which join pidspace's process
// records with what the kernel says of the live ones.
//
// Reads are allocation-light: status is read at every exec and at signal
// decisions, so files are read with raw system calls into a pooled buffer
// and parsed in place, without maps or per-line strings.
//
// A process can exit between any two reads. A read of a process that is
// gone fails with an error wrapping unix.ESRCH (errors.Is(err, ErrGone)),
// whether the kernel said ENOENT (no such directory) or ESRCH (the task
// died while its file was open).
//
// procview imports nothing of herd's but pidspace's types: sentry,
// syscalls, remote and node all read /proc through it, so it must never
// import them.
package procview
