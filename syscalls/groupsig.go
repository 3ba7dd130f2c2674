package syscalls

import (
	"herd/pidspace"
	"herd/sentry"
)

// Group signals and forks. Linux sends kill(0), kill(-pgid) and kill(-1)
// to every member at one instant, under the tasklist lock, and a fork
// that a group signal crosses gives it to the child as well as to the
// parent (copy_process's multiprocess list): never to the parent alone.
// herd lists the members first (pidspace.SignalTargets, asking other
// nodes when there are any) and delivers afterwards, and the kernel's
// list does not help, since herd-init's signal to each member is
// process-directed. So where a marked target is delivered (its node):
//   - children it forked since it was listed get the signal too
//     (pidspace.Space.BornSince);
//   - a fork of it still in the kernel (its clone trapped, its event not
//     yet seen) gives the signal to the child at its birth (forking).

// delayedSignal is a group signal that crossed a fork in flight: the
// child gets it at its birth.
type delayedSignal struct {
	sig  int
	info *sentry.SigInfo
}

// forking are the forks in flight, by process and thread: the clone
// request of each thread of a process whose clone (not CLONE_THREAD) the
// kernel is making. Tracer thread.
type forking map[int]map[int]*cloneRequest

// start records thread tid of process pid starting a fork, in place of
// any earlier one of tid that did not end (it failed before the kernel
// was asked).
func (f forking) start(pid, tid int, req *cloneRequest) {
	byTID := f[pid]
	if byTID == nil {
		byTID = make(map[int]*cloneRequest)
		f[pid] = byTID
	}
	byTID[tid] = req
}

// end forgets thread tid's fork (done or failed) and returns its request.
func (f forking) end(pid, tid int) *cloneRequest {
	req := f[pid][tid]
	if req != nil {
		delete(f[pid], tid)
		if len(f[pid]) == 0 {
			delete(f, pid)
		}
	}
	return req
}

// delay gives sig to the children of every fork process pid has in
// flight.
func (f forking) delay(pid, sig int, info *sentry.SigInfo) {
	for _, req := range f[pid] {
		req.delayed = append(req.delayed, delayedSignal{sig: sig, info: info})
	}
}

// crossedFork delivers to a new child the group signals that crossed
// its fork. Tracer thread.
func (k *Kernel) crossedFork(child int, req *cloneRequest) {
	for _, d := range req.delayed {
		k.log.Debug("group signal crossed a fork: child gets it too", "child", child, "sig", d.sig)
		if err := k.deliver(pidspace.Target{PID: child, Node: k.node, Home: k.node}, d.sig, d.info); err != nil {
			k.log.Debug("deliver crossed signal", "pid", child, "sig", d.sig, "err", err)
		}
	}
}

// groupExtras delivers a group signal that target, a process of this
// node (or one that was, and was sent on), has just been given to what
// else it reaches here: children forked since the target was listed,
// and forks in flight. Tracer thread.
func (k *Kernel) groupExtras(target pidspace.Target, sig int, info *sentry.SigInfo) {
	if target.Group.PGID == 0 || k.space == nil {
		return
	}
	k.forks.delay(target.PID, sig, info)
	for _, tg := range k.space.BornSince(target.PID, target.Group) {
		k.log.Debug("group signal reaches a child forked since listing", "pid", tg.PID, "parent", target.PID, "sig", sig)
		if err := k.deliver(tg, sig, info); err != nil {
			k.log.Debug("deliver group signal", "pid", tg.PID, "sig", sig, "err", err)
		}
	}
}
