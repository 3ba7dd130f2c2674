package node

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"herd/ipc"
	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
)

// attachIPC makes the local half's System V IPC service the cluster's:
// names in Raft's IPC name table, objects of other nodes reached with
// nodemsg.IPC, and this node's objects served to the others (a node
// declared down is the loss watcher's to tell it: loss.go).
func (cn *Cluster) attachIPC(ctx context.Context, l *Local) {
	names := raftNames{writer: cn.writer}
	l.ipc.Join(names, ipcPeers{net: &peerNet{self: cn.ID, members: cn.store.Members, pool: cn.pool, log: cn.log}})
	svc := l.ipc
	remote.Handle(cn.rpc, nodemsg.IPC, func(ctx context.Context, peer string, r *ipc.Request) (*ipc.Reply, error) {
		return svc.Serve(ctx, r), nil
	})
}

// raftNames is ipc.Names over Raft's IPC name table: written through the
// leader, read from this node's replica, which is brought up to date with
// the leader's (a barrier) before a name or id is declared unbound.
type raftNames struct{ writer *raftstate.Writer }

func (n raftNames) fsm() *raftstate.FSM { return n.writer.Store().FSM() }

func (n raftNames) Bind(ctx context.Context, name, owner string) (int, string, bool, error) {
	var b raftstate.IPCBinding
	idx, err := n.writer.Apply(ctx, raftstate.IPCBind{Key: name, Owner: owner}, &b)
	var fe *raftstate.ForwardError
	if errors.As(err, &fe) && strings.Contains(fe.Msg, raftstate.ErrKeyExists.Error()) {
		if id, owner, ok := n.Lookup(ctx, name); ok {
			return id, owner, true, nil
		}
		return 0, "", false, fmt.Errorf("bind %s: bound, then not: %w", name, err)
	}
	if err != nil {
		return 0, "", false, err
	}
	// The binding is in this replica before the object is used here.
	if err := n.writer.Store().WaitApplied(ctx, idx); err != nil {
		return 0, "", false, err
	}
	return b.ID, b.Owner, false, nil
}

// find looks in the replica, and again once it has caught up.
func (n raftNames) find(ctx context.Context, look func() (raftstate.IPCBinding, bool)) (raftstate.IPCBinding, bool) {
	if b, ok := look(); ok {
		return b, true
	}
	if n.writer.Sync(ctx) != nil {
		return raftstate.IPCBinding{}, false
	}
	return look()
}

func (n raftNames) Lookup(ctx context.Context, name string) (int, string, bool) {
	b, ok := n.find(ctx, func() (raftstate.IPCBinding, bool) { return n.fsm().IPCName(name) })
	return b.ID, b.Owner, ok
}

func (n raftNames) ByID(ctx context.Context, id int) (string, string, bool) {
	b, ok := n.find(ctx, func() (raftstate.IPCBinding, bool) { return n.fsm().IPCByID(id) })
	return b.Key, b.Owner, ok
}

func (n raftNames) Unbind(ctx context.Context, name, owner string) error {
	idx, err := n.writer.Apply(ctx, raftstate.IPCUnbind{Key: name, Owner: owner}, nil)
	if err != nil {
		return err
	}
	return n.writer.Store().WaitApplied(ctx, idx)
}

func (n raftNames) Up(node string) bool {
	m, ok := n.fsm().Member(node)
	return ok && m.State != raftstate.StateDown
}

// ipcPeers is ipc.Peers over the node RPC.
type ipcPeers struct{ net *peerNet }

func (p ipcPeers) Call(ctx context.Context, node string, r *ipc.Request) (*ipc.Reply, error) {
	m, ok := p.net.member(node)
	if !ok {
		return nil, fmt.Errorf("ipc: no member %q", node)
	}
	return remote.Call(ctx, p.net.pool.Client(m.Address), nodemsg.IPC, r)
}
