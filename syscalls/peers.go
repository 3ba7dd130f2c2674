package syscalls

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
)

// With other nodes (Peers set), a few process-model calls may wait for
// them: Exit and the Apply of a ParentExited (orphan checks), and
// SignalTargets for kill(0), kill(-pgid) and kill(-1). The tracer thread
// never waits: kill goes asynchronous (the task parks), and the hooks and
// peer events run their model calls on the Kernel's lane, one at a time in
// the order the sentry reported them, each followed on the tracer thread
// by the rest of its work (effects, PID bookkeeping), in the same order.
// Without Peers (one node, herd run's embedded node) the lane is not used
// and everything runs on the tracer thread at once, as before.

// lane runs functions one at a time, in the order given, on a goroutine
// of its own, and posts what each returns to the tracer thread.
type lane struct {
	post    func(func())
	mu      sync.Mutex
	queue   []func() func()
	running bool
}

// push queues f. Any goroutine.
func (l *lane) push(f func() func()) {
	l.mu.Lock()
	l.queue = append(l.queue, f)
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		go l.run()
	}
}

func (l *lane) run() {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		f := l.queue[0]
		l.queue = l.queue[1:]
		l.mu.Unlock()
		if then := f(); then != nil {
			l.post(then)
		}
	}
}

// ordered runs f, a process-model call that may wait for peers, and then
// the function it returns on the tracer thread: at once without Peers,
// else through the lane. Tracer thread.
func (k *Kernel) ordered(f func() func()) {
	if k.lane == nil {
		if then := f(); then != nil {
			then()
		}
		return
	}
	k.lane.push(f)
}

// SetPeers makes the Space consult the other nodes (pidspace.Peers) and
// moves the calls that then wait for them off the tracer thread. Call it
// before Attach's sentry starts tracing, or on the tracer thread.
func (k *Kernel) SetPeers(p pidspace.Peers) {
	k.space.SetPeers(p)
	k.lane = nil
	if p != nil {
		k.lane = &lane{post: func(f func()) { k.s.Post(f) }}
	}
}

// SetPeerEvents sets the service that carries Effects.Remote to other
// nodes (before Attach, or on the tracer thread). Without one, remote
// events are dropped (a single node makes none).
func (k *Kernel) SetPeerEvents(pe PeerEvents) { k.events = pe }

// SetRemoteKills sets the service through which kill and
// rt_sigqueueinfo reach a PID this node does not hold (before Attach, or
// on the tracer thread). Without one such a PID does not exist (ESRCH).
func (k *Kernel) SetRemoteKills(r RemoteKills) { k.remote = r }

// sendRemote hands events for other nodes to the PeerEvents service.
func (k *Kernel) sendRemote(events []pidspace.PeerEvent) {
	if len(events) == 0 {
		return
	}
	if k.events == nil {
		k.log.Debug("no peers: remote events dropped", "events", len(events))
		return
	}
	k.events.Send(events)
}

// kinChanged tells the nodes holding a stub of pid its record as it is
// now, after a change of group, session, credentials or SIGCHLD action.
func (k *Kernel) kinChanged(pid int) {
	if k.events != nil && k.space != nil {
		k.sendRemote(k.space.KinChanged(pid))
	}
}

// ApplyPeerEvent applies an event another node's Space sent this one and
// carries out its effects as the Kernel's own (signals, retried waits,
// events for further nodes), in the order events arrive. Tracer thread.
// An event that names a record no longer here (events can cross: it was
// reaped, or handed on) is logged at debug level and dropped.
func (k *Kernel) ApplyPeerEvent(ev pidspace.PeerEvent) {
	if k.space == nil {
		return
	}
	k.ordered(func() func() {
		eff, err := k.space.Apply(ev)
		return func() {
			if err != nil {
				lvl := k.log.Warn
				if errors.Is(err, unix.ESRCH) {
					lvl = k.log.Debug
				}
				lvl("apply peer event", "kind", ev.Kind, "pid", ev.PID, "err", err)
			}
			for _, r := range eff.Reparented {
				k.creators.drop(r.PID)
			}
			k.apply(eff)
			if ev.Kind == pidspace.Moved {
				k.movedHere(ev.PID, err)
			}
		}
	})
}

// DeliverFromPeer delivers sig with info to process pid of this node, as
// another node's Signaller asked: through the sentry, which does not
// generate a signal the process would discard. Tracer thread.
//
// group marks a member of a group send: the signal reaches what it
// forked since it was listed too (groupsig.go).
func (k *Kernel) DeliverFromPeer(pid, sig int, info *sentry.SigInfo, group pidspace.GroupSend) error {
	tg := pidspace.Target{PID: pid, Node: k.node, Group: group}
	if p, ok := k.procs.Lookup(pid); ok {
		tg.Virtual = p.Virtual
	}
	if !receives(tg) {
		return nil
	}
	err := k.deliver(tg, sig, info)
	k.groupExtras(tg, sig, info)
	return err
}

// NodeLost is told by the node that Raft's liveness declared node down:
// every process that ran there was killed by SIGKILL. The Space records
// it (pidspace.Space.NodeLost: parents here notified, children here
// reparented, PIDs lent there freed) and its effects are carried out as
// any others; from now on no exec is committed to node (an exec whose
// placement there is in progress runs here). Tracer thread.
func (k *Kernel) NodeLost(node string) {
	if k.space == nil || node == "" || node == k.node {
		return
	}
	if k.lost == nil {
		k.lost = make(map[string]bool)
	}
	k.lost[node] = true
	k.ordered(func() func() {
		eff := k.space.NodeLost(node)
		return func() {
			k.log.Info("node lost", "node", node, "notified", len(eff.Notify), "reparented", len(eff.Reparented))
			for _, r := range eff.Reparented {
				k.creators.drop(r.PID)
			}
			k.apply(eff)
		}
	})
}

// NodeBack is told by the node that node, once lost, is up again (it
// restarted with none of its processes): execs may be placed there
// again. Tracer thread.
func (k *Kernel) NodeBack(node string) { delete(k.lost, node) }
