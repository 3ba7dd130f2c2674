package raftstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"herd/pidspace"
)

// Writes are made on the leader (see the package comment). A node that is
// not the leader forwards them: it sends a ForwardRequest to the leader
// over herd RPC, and the leader runs it with ServeForwarded. Writer hides
// the difference and retries across elections, so the daemon can call
// LeasePIDBlock on any node at any time.

// ForwardRequest is one write sent to the leader. Exactly one field is set.
type ForwardRequest struct {
	// Command is an encoded Command (EncodeCommand).
	Command []byte `json:"command,omitempty"`
	// Join adds the sending node as a member (Store.Join).
	Join *Member `json:"join,omitempty"`
	// Leave removes a node from the cluster (Store.Leave).
	Leave string `json:"leave,omitempty"`
	// Heartbeat says the sending node is alive (Store.Heartbeat).
	Heartbeat bool `json:"heartbeat,omitempty"`
}

// ForwardResponse is the leader's answer to a ForwardRequest.
type ForwardResponse struct {
	// Value is the JSON of the command's result (a pidspace.Block, a Member, an
	// IPCBinding, a Role for Join), or empty.
	Value json.RawMessage `json:"value,omitempty"`
	// Index is the log index of the change; a follower waits for it
	// (Store.WaitApplied) before reading its own replica.
	Index uint64 `json:"index,omitempty"`
	// Err is why the write was refused.
	Err string `json:"err,omitempty"`
	// NotLeader says the receiver does not lead (any more): try again at
	// the current leader. Err is then informational.
	NotLeader bool `json:"not_leader,omitempty"`
	// Leader is the cluster port of the leader the receiver knows of, with
	// NotLeader: where a node that is not a member yet asks next.
	Leader string `json:"leader,omitempty"`
}

// ErrForbidden is wrapped by CheckForward's refusals of a request a peer
// may not make.
var ErrForbidden = errors.New("forwarded write not allowed")

// CheckForward validates a ForwardRequest sent by node peer and returns the
// command it carries (nil for join, leave and heartbeat). A node may only
// write on its own behalf: lease and release its own PID blocks, update its
// own resources, bind IPC names it owns, join as itself. Role, state and
// heartbeat fields are the leader's alone, and cluster config and member
// removal by command are refused (Leave is the way to remove a node).
func CheckForward(req *ForwardRequest, peer string) (Command, error) {
	set := 0
	if req.Command != nil {
		set++
	}
	if req.Join != nil {
		set++
	}
	if req.Leave != "" {
		set++
	}
	if req.Heartbeat {
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("%w: want exactly one of command, join, leave, heartbeat; got %d", ErrForbidden, set)
	}
	if req.Join != nil && req.Join.ID != peer {
		return nil, fmt.Errorf("%w: %q may not join as %q", ErrForbidden, peer, req.Join.ID)
	}
	if req.Command == nil {
		return nil, nil
	}
	cmd, err := DecodeCommand(req.Command)
	if err != nil {
		return nil, err
	}
	owner := ""
	switch c := cmd.(type) {
	case PIDLease:
		owner = c.Node
	case PIDRelease:
		owner = c.Node
	case IPCBind:
		owner = c.Owner
	case IPCUnbind:
		owner = c.Owner
	case NodeUpdate:
		if c.Role != nil || c.State != nil || c.LastHeartbeat != nil {
			return nil, fmt.Errorf("%w: role, state and heartbeat are set by the leader", ErrForbidden)
		}
		owner = c.ID
	case Nop, SetPlacement:
		return cmd, nil
	default:
		return nil, fmt.Errorf("%w: %v", ErrForbidden, cmd.Type())
	}
	if owner != peer {
		return nil, fmt.Errorf("%w: %q may not write %v for %q", ErrForbidden, peer, cmd.Type(), owner)
	}
	return cmd, nil
}

// retryable reports whether err means "ask the leader again", as opposed
// to a refusal by the state machine.
func retryable(err error) bool {
	for _, e := range []error{raft.ErrNotLeader, raft.ErrLeadershipLost, raft.ErrLeadershipTransferInProgress,
		raft.ErrEnqueueTimeout, raft.ErrAbortedByRestore, raft.ErrNotVoter} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// ServeForwarded runs a write forwarded by node peer (or by this node
// itself). It never returns a Go error: refusals travel in the response.
func (s *Store) ServeForwarded(ctx context.Context, peer string, req *ForwardRequest) *ForwardResponse {
	cmd, err := CheckForward(req, peer)
	if err != nil {
		return &ForwardResponse{Err: err.Error()}
	}
	if !s.IsLeader() {
		addr, id := s.Leader()
		return &ForwardResponse{NotLeader: true, Leader: addr,
			Err: fmt.Sprintf("%s is not the leader (leader: %q)", s.cfg.NodeID, id)}
	}
	var (
		v     any
		index uint64
	)
	switch {
	case req.Heartbeat:
		s.Heartbeat(peer)
		return &ForwardResponse{}
	case req.Join != nil:
		v, err = s.Join(ctx, *req.Join)
		index = s.raft.AppliedIndex()
	case req.Leave != "":
		err = s.Leave(ctx, req.Leave)
		index = s.raft.AppliedIndex()
	default:
		v, index, err = s.applyIndex(ctx, cmd)
	}
	if err != nil {
		resp := &ForwardResponse{Err: err.Error(), NotLeader: retryable(err)}
		if resp.NotLeader {
			resp.Leader, _ = s.Leader()
		}
		return resp
	}
	resp := &ForwardResponse{Index: index}
	if v != nil {
		if resp.Value, err = json.Marshal(v); err != nil {
			return &ForwardResponse{Err: fmt.Sprintf("encode result: %v", err)}
		}
	}
	return resp
}

// A Forwarder carries a ForwardRequest to the node at leaderAddr (its
// cluster port), which answers with ServeForwarded. An error means the
// request may not have arrived; the Writer retries.
type Forwarder interface {
	Forward(ctx context.Context, leaderAddr string, req *ForwardRequest) (*ForwardResponse, error)
}

// Writer makes writes from any node: on the leader it applies them
// directly, elsewhere it forwards them through a Forwarder. It retries
// while there is no leader or the leader changes, until ctx ends.
type Writer struct {
	store *Store
	fwd   Forwarder
	// RetryEvery is the pause between attempts (default 50ms).
	RetryEvery time.Duration
}

// NewWriter returns a writer for the node of s.
func NewWriter(s *Store, f Forwarder) *Writer {
	return &Writer{store: s, fwd: f, RetryEvery: 50 * time.Millisecond}
}

// Store is the local replica.
func (w *Writer) Store() *Store { return w.store }

// ForwardError is a write the leader refused.
type ForwardError struct{ Msg string }

func (e *ForwardError) Error() string { return e.Msg }

func (w *Writer) do(ctx context.Context, op string, req *ForwardRequest) (*ForwardResponse, error) {
	self := w.store.NodeID()
	var last error
	for {
		addr, id := w.store.Leader()
		var (
			resp *ForwardResponse
			err  error
		)
		switch {
		case id == "":
			err = errors.New("no leader known")
		case id == self:
			resp = w.store.ServeForwarded(ctx, self, req)
		default:
			resp, err = w.fwd.Forward(ctx, addr, req)
		}
		if err == nil && resp.NotLeader {
			err = errors.New(resp.Err)
		}
		if err == nil {
			if resp.Err != "" {
				return nil, fmt.Errorf("%s: %w", op, &ForwardError{Msg: resp.Err})
			}
			return resp, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w (last attempt: %v)", op, ctx.Err(), last)
		case <-time.After(w.RetryEvery):
		}
	}
}

// Apply commits cmd through the leader and decodes its result into v (a
// pointer, or nil). It returns the command's log index.
func (w *Writer) Apply(ctx context.Context, cmd Command, v any) (uint64, error) {
	b, err := EncodeCommand(cmd)
	if err != nil {
		return 0, err
	}
	resp, err := w.do(ctx, cmd.Type().String(), &ForwardRequest{Command: b})
	if err != nil {
		return 0, err
	}
	if v != nil && len(resp.Value) > 0 {
		if err := json.Unmarshal(resp.Value, v); err != nil {
			return 0, fmt.Errorf("%v: decode result: %w", cmd.Type(), err)
		}
	}
	return resp.Index, nil
}

// LeasePIDBlock leases the lowest free PID block for this node.
func (w *Writer) LeasePIDBlock(ctx context.Context) (pidspace.Block, error) {
	var b pidspace.Block
	_, err := w.Apply(ctx, PIDLease{Node: w.store.NodeID()}, &b)
	return b, err
}

// ReleasePIDBlock gives back this node's block at start.
func (w *Writer) ReleasePIDBlock(ctx context.Context, start int) error {
	_, err := w.Apply(ctx, PIDRelease{Node: w.store.NodeID(), Start: start}, nil)
	return err
}

// Join adds this node (m.ID must be its id) to the cluster, or refreshes
// its record when it rejoins, and waits until the local replica shows it.
func (w *Writer) Join(ctx context.Context, m Member) (Role, error) {
	resp, err := w.do(ctx, "join", &ForwardRequest{Join: &m})
	if err != nil {
		return "", err
	}
	var r Role
	if err := json.Unmarshal(resp.Value, &r); err != nil {
		return "", fmt.Errorf("join: decode role: %w", err)
	}
	return r, w.store.WaitApplied(ctx, resp.Index)
}

// Leave removes node id from the cluster.
func (w *Writer) Leave(ctx context.Context, id string) error {
	_, err := w.do(ctx, "leave "+id, &ForwardRequest{Leave: id})
	return err
}

// Heartbeat tells the leader this node is alive. It does not retry: the
// next beat will.
// SetPlacement sets the cluster's default placement policy.
func (w *Writer) SetPlacement(ctx context.Context, policy string) error {
	idx, err := w.Apply(ctx, SetPlacement{Placement: policy}, nil)
	if err != nil {
		return err
	}
	return w.store.WaitApplied(ctx, idx)
}

func (w *Writer) Heartbeat(ctx context.Context) error {
	self := w.store.NodeID()
	addr, id := w.store.Leader()
	switch {
	case id == "":
		return errors.New("heartbeat: no leader known")
	case id == self:
		w.store.Heartbeat(self)
		return nil
	}
	resp, err := w.fwd.Forward(ctx, addr, &ForwardRequest{Heartbeat: true})
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if resp.Err != "" {
		return fmt.Errorf("heartbeat: %s", resp.Err)
	}
	return nil
}

// Sync waits until the local replica has applied everything the leader
// had committed when Sync was called (a forwarded no-op is the barrier).
func (w *Writer) Sync(ctx context.Context) error {
	index, err := w.Apply(ctx, Nop{}, nil)
	if err != nil {
		return fmt.Errorf("sync replica: %w", err)
	}
	return w.store.WaitApplied(ctx, index)
}
