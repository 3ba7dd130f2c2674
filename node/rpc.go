package node

import (
	"context"

	"herd/syscalls"

	"herd/pidspace"
	"herd/procview"
	"herd/remote"
	"herd/remote/nodemsg"
)

// registerRPCs serves the RPCs that need the local half. The process RPCs
// of placement and migration register here too.
func (cn *Cluster) registerRPCs() {
	remote.Handle(cn.rpc, nodemsg.Procs, cn.handleProcs)
	remote.Handle(cn.rpc, nodemsg.Status, cn.handleStatus)
	remote.Handle(cn.rpc, nodemsg.PlacePrepare, cn.handlePrepare)
	remote.Handle(cn.rpc, nodemsg.PlaceAbort, cn.handleAbort)
	remote.Handle(cn.rpc, nodemsg.PIDReturned, cn.handlePIDReturned)
	remote.Handle(cn.rpc, nodemsg.Drained, cn.handleDrained)
	go cn.acceptFdStreams()
}

// attachPeers connects the local half's Space and Kernel to the other
// nodes (peers.go, signal.go): Peers for groups and kill(-1), an outbox
// for remote events and signals, remote kills by lease, and the handlers
// of the same messages from the others. It returns once the Kernel has
// taken them, on its tracer thread.
func (cn *Cluster) attachPeers(ctx context.Context, l *Local) {
	net := &peerNet{self: cn.ID, members: cn.store.Members, pool: cn.pool, log: cn.log}
	out := newOutbox(ctx, net)
	kills := remoteKills{net: net, holder: cn.store.FSM().LeaseHolder}
	procs := remoteProcs{net: net}
	ps := &peerServer{host: l, log: cn.log, kill: kills.send, procCall: l.kernel.ProcCallFrom, procs: procs}
	ps.register(cn.rpc)
	cn.attachIPC(ctx, l)
	done := make(chan struct{})
	l.sentry.Post(func() {
		k := l.kernel
		k.SetPeers(spacePeers{net: net})
		k.SetPeerEvents(out)
		k.SetRemoteKills(kills)
		k.SetRemoteProcs(procs)
		k.SetSignaller(clusterSignaller{local: syscalls.LocalSignaller{Node: cn.ID, Sentry: l.sentry}, self: cn.ID, out: out})
		close(done)
	})
	<-done
	go cn.watchLoss(ctx, l, out)
}

// handleProcs serves nodemsg.Procs: this node's process records.
func (cn *Cluster) handleProcs(ctx context.Context, peer string, _ *remote.Empty) (*nodemsg.ProcsResponse, error) {
	return &nodemsg.ProcsResponse{Node: cn.ID, Procs: cn.procs()}, nil
}

func (cn *Cluster) procs() []procview.Row {
	return procview.Proc.Rows(cn.ID, cn.local.Space().List())
}

// handleStatus serves nodemsg.Status: this node's load.
func (cn *Cluster) handleStatus(ctx context.Context, peer string, _ *remote.Empty) (*nodemsg.NodeStatus, error) {
	return cn.status(), nil
}

func (cn *Cluster) status() *nodemsg.NodeStatus {
	st := &nodemsg.NodeStatus{Node: cn.ID, Procs: procCount(cn.local.Space().List())}
	self := cn.local.self
	st.Load, _ = self.kernel.ReadLoad()
	var err error
	if st.Stat, err = self.stat(); err != nil {
		cn.log.Warn("read the node's figures", "err", err)
	}
	return st
}

// procCount is len(procview.Proc.Rows(node, procs)) without making the
// rows: a count needs none of the /proc reads a row does.
func procCount(procs []pidspace.Process) int {
	n := 0
	for _, p := range procs {
		if p.PID != pidspace.InitPID {
			n++
		}
	}
	return n
}
