package node

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
	"herd/syscalls"
)

// remoteProcs is syscalls.RemoteProcs over RPC: a process call on a PID
// running on another node is made there (nodemsg.ProcCall).
type remoteProcs struct{ net *peerNet }

// ProcCall implements syscalls.RemoteProcs.
func (r remoteProcs) ProcCall(ctx context.Context, node string, c syscalls.ProcCall) (syscalls.ProcResult, error) {
	resp, err := r.send(ctx, node, &nodemsg.ProcCallRequest{
		Nr: c.Nr, PID: c.PID, Args: c.Args, In: c.In, Creds: c.Creds, Caps: c.Caps,
	})
	if err != nil {
		return syscalls.ProcResult{}, err
	}
	return syscalls.ProcResult{Ret: resp.Ret, Out: resp.Out}, nil
}

// send asks node to make req.
func (r remoteProcs) send(ctx context.Context, node string, req *nodemsg.ProcCallRequest) (*nodemsg.ProcCallResponse, error) {
	return callHolder(ctx, r.net, node, nodemsg.ProcCall, req, req.PID)
}

// callHolder calls m with req on node, the holder of process pid. A
// node that is down holds no live process (ESRCH); one that cannot be
// reached fails the call (EAGAIN); the error the node answers is the
// call's.
func callHolder[Req, Resp any](ctx context.Context, net *peerNet, node string, m remote.Msg[Req, Resp], req *Req, pid int) (*Resp, error) {
	mb, ok := net.member(node)
	if !ok || mb.State == raftstate.StateDown {
		return nil, unix.ESRCH
	}
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	resp, err := remote.Call(ctx, net.pool.Client(mb.Address), m, req)
	var rerr *remote.RemoteError
	if err != nil && !errors.As(err, &rerr) {
		net.log.Debug("peer unreachable", "call", m, "peer", node, "pid", pid, "err", err)
		return nil, fmt.Errorf("%v of %d on %s: %v: %w", m, pid, node, err, unix.EAGAIN)
	}
	return resp, err
}

// handleProcCall makes a process call another node's process asked for
// (Kernel.ProcCallFrom, on this goroutine: it needs no tracer thread),
// and hands it on to the node a PID was lent to.
func (ps *peerServer) handleProcCall(ctx context.Context, peer string, req *nodemsg.ProcCallRequest) (*nodemsg.ProcCallResponse, error) {
	if ps.procCall == nil {
		return nil, unix.ESRCH
	}
	res, fwd, err := ps.procCall(syscalls.ProcCall{
		Nr: req.Nr, PID: req.PID, Args: req.Args, In: req.In, Creds: req.Creds, Caps: req.Caps,
	})
	if err != nil {
		return nil, err
	}
	if fwd == "" {
		return &nodemsg.ProcCallResponse{Ret: res.Ret, Out: res.Out}, nil
	}
	if req.Forwarded >= maxForward || ps.procs.net == nil {
		return nil, unix.ESRCH
	}
	next := *req
	next.Forwarded++
	return ps.procs.send(ctx, fwd, &next)
}
