package sentry

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A restartPair holds the restarts of a clone's creator and child that
// resumePair makes back to back. Between two ptrace calls made one by one,
// the Go scheduler may park the tracer thread: a preemption request
// (sysmon's, after 10 ms on the CPU, or a stop-the-world's) is honoured at
// the next function's stack check, and the locked thread then sleeps
// until another thread hands its goroutine back, for tens or hundreds of
// microseconds. A real-time creator, already resumed on its CPU, ran on
// meanwhile with its child still stopped (a higher-priority child did
// not preempt it; one raised right after clone missed the raise): about
// one clone in a few hundred on a busy node. ptraceRestarts makes the
// calls in assembly, which has no stack check and no asynchronous
// preemption point.
type restartPair struct {
	// holding: restarts are held (resumePair is gathering them).
	holding bool
	n       int
	tasks   [2]*Task
	raw     rawRestarts
}

// rawRestarts are the arguments of ptraceRestarts: per call the request,
// the TID and the signal, then the raw results (-errno on failure).
type rawRestarts struct {
	args [2][3]uintptr
	ret  [2]uintptr
}

// The assembly reads rawRestarts at fixed offsets.
var _ [48]byte = [unsafe.Offsetof(rawRestarts{}.ret)]byte{}

// hold keeps the restart of t (ptrace request req with signal sig) for
// later, if the pair is gathering and has room; it reports whether it
// did.
func (p *restartPair) hold(t *Task, req, sig int) bool {
	if !p.holding || p.n == len(p.tasks) {
		return false
	}
	p.tasks[p.n] = t
	p.raw.args[p.n] = [3]uintptr{uintptr(req), uintptr(t.TID), uintptr(sig)}
	p.n++
	return true
}

// flushPair makes the restarts s.pair holds, in order, with no point
// between them where the Go scheduler could stop the tracer thread.
func (s *Sentry) flushPair() {
	p := &s.pair
	ptraceRestarts(&p.raw, p.n)
	for i := range p.n {
		if err := rawErr(p.raw.ret[i]); err != nil && !errors.Is(err, unix.ESRCH) {
			s.log.Warn("ptrace resume", "task", p.tasks[i], "request", p.raw.args[i][0], "err", err)
		}
		p.tasks[i] = nil
	}
	p.n = 0
}

// rawErr reads a raw system call result: -errno on failure.
func rawErr(r uintptr) error {
	if v := int64(r); v < 0 && v > -4096 {
		return unix.Errno(-v)
	}
	return nil
}

// ptraceRestarts makes the first n ptrace requests of r, (request, TID,
// 0, signal) each, one right after the other (ptrace_amd64.s), and
// stores their raw results in r.ret.
//
//go:noescape
func ptraceRestarts(r *rawRestarts, n int)
