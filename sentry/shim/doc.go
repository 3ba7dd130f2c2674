// Package shim is the code of herd's helper processes: herd-shim, which
// sets a process up (filter, credentials, limits, signals) and execs its
// program; herd-bell, which wakes the tracer thread; and the launcher's
// stand-in. They run in every start of a program, so the package imports
// little: it is built alone as cmd/herd-shim (a binary that starts in a
// fraction of the herd binary's time, whose package inits are many), and
// the herd binary runs the same code when herd-shim is not beside it.
//
// Nothing here may import package sentry or anything heavy.
package shim
