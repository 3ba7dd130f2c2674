package raftstate

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"herd/pidspace"
)

// Role is a member's Raft suffrage.
type Role string

const (
	RoleVoter    Role = "voter"
	RoleNonvoter Role = "nonvoter"
)

// NodeState is a member's liveness as last committed by a leader.
type NodeState string

const (
	StateUp      NodeState = "up"
	StateSuspect NodeState = "suspect"
	StateDown    NodeState = "down"
)

// Member is one node of the cluster.
type Member struct {
	ID          string    `json:"id"`
	Address     string    `json:"address"` // the node's cluster port (Raft and herd RPC)
	CPUs        int       `json:"cpus"`
	CPUList     []int     `json:"cpu_list,omitempty"` // the node's local CPU numbers
	MemoryBytes uint64    `json:"memory_bytes"`
	Role        Role      `json:"role"`
	State       NodeState `json:"state"`
	// StateSince is when State was last changed.
	StateSince time.Time `json:"state_since"`
	// LastHeartbeat is the heartbeat behind the last committed state change;
	// it is not updated on every beat (see Liveness).
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// JoinIndex is the Raft index of the first join: promotion order.
	JoinIndex uint64 `json:"join_index"`
	// Incarnation names one run of the node: a node that restarts
	// rejoins with a new one, so the others learn that what ran there
	// before is gone even when it came back before liveness said down.
	// Zero for a record written before incarnations existed.
	Incarnation uint64 `json:"incarnation,omitempty"`
}

func (m Member) clone() Member {
	m.CPUList = slices.Clone(m.CPUList)
	return m
}

// Lease is a PID block held by a node.
type Lease struct {
	Node  string         `json:"node"`
	Block pidspace.Block `json:"block"`
}

// IPCBinding binds a System V IPC key to a cluster-wide id whose object
// lives at Owner.
type IPCBinding struct {
	Key   string `json:"key"`
	ID    int    `json:"id"`
	Owner string `json:"owner"`
}

// ClusterConfig is cluster-wide configuration.
type ClusterConfig struct {
	// Placement is the default placement policy ("local", "spread",
	// "least-loaded", or a node id); interpreted by the scheduler.
	Placement string `json:"placement"`
	// BlockSize is the number of PIDs in a leased block.
	BlockSize int `json:"block_size"`
	// PIDMax is one past the highest PID the cluster hands out (the value
	// each node writes to kernel.pid_max).
	PIDMax int `json:"pid_max"`
}

// DefaultPlacement is the placement policy of a new cluster. The PID
// range (where leased blocks start, the default block size, the largest
// pid max) is pidspace's: FirstPID, BlockLen, PIDMax.
const DefaultPlacement = "local"

// DefaultClusterConfig is the config of a new cluster.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{Placement: DefaultPlacement, BlockSize: pidspace.BlockLen, PIDMax: pidspace.PIDMax}
}

func (c ClusterConfig) validate() error {
	if c.Placement == "" || len(c.Placement) > 128 {
		return fmt.Errorf("placement %q: want 1 to 128 bytes", c.Placement)
	}
	if c.PIDMax <= pidspace.FirstPID || c.PIDMax > pidspace.PIDMax {
		return fmt.Errorf("pid max %d: want %d < pid max <= %d", c.PIDMax, pidspace.FirstPID, pidspace.PIDMax)
	}
	if c.BlockSize < 1 || c.BlockSize > c.PIDMax-pidspace.FirstPID {
		return fmt.Errorf("block size %d: want 1 to %d", c.BlockSize, c.PIDMax-pidspace.FirstPID)
	}
	return nil
}

// State is the whole replicated cluster state. The FSM owns the live copy;
// accessors return deep copies.
type State struct {
	Members map[string]Member `json:"members"`
	// Leases are sorted by Block.Start and never overlap.
	Leases []Lease               `json:"leases"`
	IPC    map[string]IPCBinding `json:"ipc"`
	// NextIPCID is the next IPC id to hand out; ids are never reused.
	NextIPCID int           `json:"next_ipc_id"`
	Config    ClusterConfig `json:"config"`
}

// NewState returns the state of a new cluster.
func NewState() State {
	return State{Members: map[string]Member{}, IPC: map[string]IPCBinding{}, Config: DefaultClusterConfig()}
}

// Clone returns a deep copy.
func (s State) Clone() State {
	c := s
	c.Members = make(map[string]Member, len(s.Members))
	for id, m := range s.Members {
		c.Members[id] = m.clone()
	}
	c.Leases = slices.Clone(s.Leases)
	c.IPC = maps.Clone(s.IPC)
	if c.IPC == nil {
		c.IPC = map[string]IPCBinding{}
	}
	return c
}

// validate checks the invariants a restored snapshot must hold.
func (s *State) validate() error {
	if err := s.Config.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for id, m := range s.Members {
		if id != m.ID {
			return fmt.Errorf("member %q stored under %q", m.ID, id)
		}
	}
	for i, l := range s.Leases {
		if l.Block.Len <= 0 || l.Block.Start < pidspace.FirstPID {
			return fmt.Errorf("lease %d: bad block %+v", i, l.Block)
		}
		if i > 0 && s.Leases[i-1].Block.End() > l.Block.Start {
			return fmt.Errorf("leases %d and %d overlap or are unsorted", i-1, i)
		}
	}
	for k, b := range s.IPC {
		if k != b.Key || b.ID < 0 || b.ID >= s.NextIPCID {
			return fmt.Errorf("ipc binding %q: bad %+v", k, b)
		}
	}
	return nil
}

// Errors the FSM returns for commands it refuses. A refused command changes
// nothing.
var (
	ErrUnknownNode  = errors.New("unknown node")
	ErrNotOwner     = errors.New("not the owner")
	ErrNoFreeBlock  = errors.New("no free pid block")
	ErrNotLeased    = errors.New("pid block not leased")
	ErrKeyExists    = errors.New("ipc key already bound")
	ErrKeyNotBound  = errors.New("ipc key not bound")
	ErrIPCExhausted = errors.New("ipc ids exhausted")
	ErrInvalid      = errors.New("invalid command")
)

// apply executes cmd, committed at index, and returns the command's result
// or the reason it was refused. It must be deterministic: no clocks, no
// randomness, no map iteration order in results.
func (s *State) apply(cmd Command, index uint64) (any, error) {
	switch c := cmd.(type) {
	case NodeJoin:
		return s.join(c, index)
	case NodeLeave:
		return s.leave(c)
	case NodeUpdate:
		return s.update(c)
	case PIDLease:
		return s.lease(c)
	case PIDRelease:
		return nil, s.release(c)
	case IPCBind:
		return s.bind(c)
	case IPCUnbind:
		return nil, s.unbind(c)
	case SetConfig:
		if err := c.Config.validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		s.Config = c.Config
		return nil, nil
	case SetPlacement:
		cfg := s.Config
		cfg.Placement = c.Placement
		if err := cfg.validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		s.Config = cfg
		return nil, nil
	case Nop:
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: unhandled %T", ErrInvalid, cmd)
	}
}

func validRole(r Role) bool        { return r == RoleVoter || r == RoleNonvoter }
func validState(st NodeState) bool { return st == StateUp || st == StateSuspect || st == StateDown }

func validateResources(cpus int, list []int) error {
	if cpus < 0 || cpus > 1<<16 {
		return fmt.Errorf("%w: cpus %d", ErrInvalid, cpus)
	}
	if len(list) > 1<<16 {
		return fmt.Errorf("%w: cpu list of %d", ErrInvalid, len(list))
	}
	for _, c := range list {
		if c < 0 {
			return fmt.Errorf("%w: cpu %d", ErrInvalid, c)
		}
	}
	return nil
}

func (s *State) join(c NodeJoin, index uint64) (Member, error) {
	m := c.Member.clone()
	if m.ID == "" || m.Address == "" {
		return Member{}, fmt.Errorf("%w: member needs an id and an address", ErrInvalid)
	}
	if !validRole(m.Role) || !validState(m.State) {
		return Member{}, fmt.Errorf("%w: role %q state %q", ErrInvalid, m.Role, m.State)
	}
	if err := validateResources(m.CPUs, m.CPUList); err != nil {
		return Member{}, err
	}
	m.JoinIndex = index
	if old, ok := s.Members[m.ID]; ok {
		m.JoinIndex = old.JoinIndex
	}
	s.Members[m.ID] = m
	return m.clone(), nil
}

func (s *State) leave(c NodeLeave) (any, error) {
	if _, ok := s.Members[c.ID]; !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownNode, c.ID)
	}
	delete(s.Members, c.ID)
	if c.ReleaseLeases {
		s.Leases = slices.DeleteFunc(s.Leases, func(l Lease) bool { return l.Node == c.ID })
	}
	return nil, nil
}

func (s *State) update(c NodeUpdate) (Member, error) {
	m, ok := s.Members[c.ID]
	if !ok {
		return Member{}, fmt.Errorf("%w %q", ErrUnknownNode, c.ID)
	}
	m = m.clone()
	if c.Address != nil {
		if *c.Address == "" {
			return Member{}, fmt.Errorf("%w: empty address", ErrInvalid)
		}
		m.Address = *c.Address
	}
	if c.CPUs != nil {
		m.CPUs = *c.CPUs
	}
	if c.CPUList != nil {
		m.CPUList = slices.Clone(c.CPUList)
	}
	if err := validateResources(m.CPUs, m.CPUList); err != nil {
		return Member{}, err
	}
	if c.MemoryBytes != nil {
		m.MemoryBytes = *c.MemoryBytes
	}
	if c.Role != nil {
		if !validRole(*c.Role) {
			return Member{}, fmt.Errorf("%w: role %q", ErrInvalid, *c.Role)
		}
		m.Role = *c.Role
	}
	if c.State != nil {
		if !validState(*c.State) {
			return Member{}, fmt.Errorf("%w: state %q", ErrInvalid, *c.State)
		}
		if m.State != *c.State {
			m.StateSince = c.At
		}
		m.State = *c.State
	}
	if c.LastHeartbeat != nil {
		m.LastHeartbeat = *c.LastHeartbeat
	}
	s.Members[c.ID] = m
	return m.clone(), nil
}

// lease hands out the lowest free block: the first Start >= pidspace.FirstPID,
// on the BlockSize grid counted from pidspace.FirstPID, whose whole block lies
// below PIDMax and overlaps no lease. Leased blocks are never handed out
// again until released, even if BlockSize changed since they were leased.
func (s *State) lease(c PIDLease) (pidspace.Block, error) {
	if _, ok := s.Members[c.Node]; !ok {
		return pidspace.Block{}, fmt.Errorf("%w %q", ErrUnknownNode, c.Node)
	}
	size := s.Config.BlockSize
	cand := pidspace.FirstPID
	for _, l := range s.Leases {
		if l.Block.End() <= cand {
			continue
		}
		if l.Block.Start >= cand+size {
			break
		}
		// Overlap: move past this lease, back onto the grid.
		cand = pidspace.FirstPID + (l.Block.End()-pidspace.FirstPID+size-1)/size*size
	}
	if cand+size > s.Config.PIDMax {
		return pidspace.Block{}, fmt.Errorf("%w below pid max %d", ErrNoFreeBlock, s.Config.PIDMax)
	}
	b := pidspace.Block{Start: cand, Len: size}
	i := sort.Search(len(s.Leases), func(i int) bool { return s.Leases[i].Block.Start > cand })
	s.Leases = slices.Insert(s.Leases, i, Lease{Node: c.Node, Block: b})
	return b, nil
}

func (s *State) release(c PIDRelease) error {
	i := sort.Search(len(s.Leases), func(i int) bool { return s.Leases[i].Block.Start >= c.Start })
	if i == len(s.Leases) || s.Leases[i].Block.Start != c.Start {
		return fmt.Errorf("%w: block at %d", ErrNotLeased, c.Start)
	}
	if s.Leases[i].Node != c.Node {
		return fmt.Errorf("release block at %d: %w: held by %q, not %q", c.Start, ErrNotOwner, s.Leases[i].Node, c.Node)
	}
	s.Leases = slices.Delete(s.Leases, i, i+1)
	return nil
}

func (s *State) bind(c IPCBind) (IPCBinding, error) {
	if c.Key == "" || len(c.Key) > 256 {
		return IPCBinding{}, fmt.Errorf("%w: ipc key %q", ErrInvalid, c.Key)
	}
	if _, ok := s.Members[c.Owner]; !ok {
		return IPCBinding{}, fmt.Errorf("%w %q", ErrUnknownNode, c.Owner)
	}
	if b, ok := s.IPC[c.Key]; ok && s.ownerUp(b.Owner) {
		return b, fmt.Errorf("%w: %q is id %d at %q", ErrKeyExists, c.Key, b.ID, b.Owner)
	}
	// A key whose owner is down names nothing (its object died with
	// the node): it is bound afresh.
	if s.NextIPCID >= math.MaxInt32 {
		return IPCBinding{}, ErrIPCExhausted
	}
	b := IPCBinding{Key: c.Key, ID: s.NextIPCID, Owner: c.Owner}
	s.NextIPCID++
	s.IPC[c.Key] = b
	return b, nil
}

// ownerUp is whether node is a member not declared down.
func (s *State) ownerUp(node string) bool {
	m, ok := s.Members[node]
	return ok && m.State != StateDown
}

func (s *State) unbind(c IPCUnbind) error {
	b, ok := s.IPC[c.Key]
	if !ok {
		return fmt.Errorf("%w: %q", ErrKeyNotBound, c.Key)
	}
	if b.Owner != c.Owner {
		return fmt.Errorf("unbind %q: %w: owned by %q, not %q", c.Key, ErrNotOwner, b.Owner, c.Owner)
	}
	delete(s.IPC, c.Key)
	return nil
}
