package node

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/remote"
	"herd/remote/nodemsg"
	"herd/sentry"
	"herd/syscalls"
)

// maxForward bounds how often a kill is handed on to the node a PID was
// lent to (a chain of migrations); beyond it the PID is taken as gone.
const maxForward = 4

// clusterSignaller is the cluster's syscalls.Signaller: a target running
// on this node goes to the node-local Signaller; one running on another
// member is queued for it (nodemsg.Signal, in order with the events for
// that node) and delivered there by its sentry.
type clusterSignaller struct {
	local syscalls.Signaller
	self  string
	out   *outbox
}

// Signal implements syscalls.Signaller.
func (c clusterSignaller) Signal(target pidspace.Target, sig int, info *sentry.SigInfo) error {
	if target.Node == c.self || target.Node == "" {
		return c.local.Signal(target, sig, info)
	}
	if _, ok := c.out.net.member(target.Node); !ok {
		return fmt.Errorf("signal %d to %d on %s: no such node: %w", sig, target.PID, target.Node, syscalls.ErrElsewhere)
	}
	d := &nodemsg.Delivery{PID: target.PID, Sig: sig}
	if target.Group.PGID != 0 {
		g := target.Group
		d.Group = &g
	}
	if info != nil {
		d.Info = append([]byte(nil), info[:]...)
	}
	c.out.queue(target.Node, outItem{sig: d})
	return nil
}

// handleSignal delivers signals another node's Signaller sent, in order,
// on the tracer thread.
func (ps *peerServer) handleSignal(ctx context.Context, peer string, req *nodemsg.SignalRequest) (*remote.Empty, error) {
	if !ps.in.fresh(peer, req.Epoch, req.Seq) {
		return &remote.Empty{}, nil
	}
	for _, d := range req.Signals {
		info, err := sigInfoOf(d.Info)
		if err != nil {
			return nil, err
		}
		var group pidspace.GroupSend
		if d.Group != nil {
			group = *d.Group
		}
		ps.host.Post(func() {
			if err := ps.host.DeliverFromPeer(d.PID, d.Sig, info, group); err != nil {
				// Signals and exits can cross: the process may have gone.
				ps.log.Debug("deliver signal from peer", "peer", peer, "pid", d.PID, "sig", d.Sig, "err", err)
			}
		})
	}
	return &remote.Empty{}, nil
}

// sigInfoOf is the siginfo of b (nil if empty); EINVAL if b is not one.
func sigInfoOf(b []byte) (*sentry.SigInfo, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var si sentry.SigInfo
	if len(b) != len(si) {
		return nil, fmt.Errorf("siginfo of %d bytes: %w", len(b), unix.EINVAL)
	}
	copy(si[:], b)
	return &si, nil
}

// remoteKills is syscalls.RemoteKills over RPC: a PID this node does not
// hold is asked of the node holding its Raft lease block.
type remoteKills struct {
	net *peerNet
	// holder is the node holding pid's lease block (FSM.LeaseHolder).
	holder func(pid int) string
}

// KillHolder implements syscalls.RemoteKills: the lease holder of pid.
func (r remoteKills) KillHolder(pid int) string { return r.holder(pid) }

// Kill implements syscalls.RemoteKills.
func (r remoteKills) Kill(ctx context.Context, node string, req syscalls.KillRequest) error {
	return r.send(ctx, node, &nodemsg.KillRequest{
		Sender: req.Sender, SenderSID: req.SenderSID, Creds: req.Creds,
		PID: req.PID, Sig: req.Sig, Queued: req.Queued, Info: req.Info[:],
	})
}

// send asks node to decide req (callHolder).
func (r remoteKills) send(ctx context.Context, node string, req *nodemsg.KillRequest) error {
	_, err := callHolder(ctx, r.net, node, nodemsg.Kill, req, req.PID)
	return err
}

// handleKill decides a kill on the tracer thread with the Kernel's
// KillFrom, and hands it on to the node a PID was lent to.
func (ps *peerServer) handleKill(ctx context.Context, peer string, req *nodemsg.KillRequest) (*remote.Empty, error) {
	kr := syscalls.KillRequest{Sender: req.Sender, SenderSID: req.SenderSID, Creds: req.Creds, PID: req.PID, Sig: req.Sig, Queued: req.Queued}
	copy(kr.Info[:], req.Info)
	type answer struct {
		forward string
		err     error
	}
	done := make(chan answer, 1)
	ps.host.Post(func() {
		fwd, err := ps.host.KillFrom(kr)
		done <- answer{fwd, err}
	})
	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if a.forward == "" || a.err != nil {
		return &remote.Empty{}, a.err
	}
	if req.Forwarded >= maxForward || ps.kill == nil {
		return nil, unix.ESRCH
	}
	fwd := *req
	fwd.Forwarded++
	return &remote.Empty{}, ps.kill(ctx, a.forward, &fwd)
}
