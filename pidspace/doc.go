// Package pidspace owns the cluster process model: PID allocation from
// leased blocks, process records, the POSIX parent/child tree, wait queues,
// orphan reparenting, process groups and sessions, and signal routing by
// pid, pgid and -1. It is pure logic: no ptrace, no system calls.
package pidspace
