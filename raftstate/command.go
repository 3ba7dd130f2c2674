package raftstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CommandType is the first byte of every Raft log entry herd writes.
// Values are part of the log format: never renumber them.
type CommandType uint8

const (
	CmdNodeJoin     CommandType = 1
	CmdNodeLeave    CommandType = 2
	CmdNodeUpdate   CommandType = 3
	CmdPIDLease     CommandType = 4
	CmdPIDRelease   CommandType = 5
	CmdIPCBind      CommandType = 6
	CmdIPCUnbind    CommandType = 7
	CmdSetConfig    CommandType = 8
	CmdNop          CommandType = 9 // changes nothing; for latency measurement and barriers
	CmdSetPlacement CommandType = 10
	cmdTypeCeiling  CommandType = 11
)

var cmdNames = [...]string{
	CmdNodeJoin: "node join", CmdNodeLeave: "node leave", CmdNodeUpdate: "node update",
	CmdPIDLease: "pid lease", CmdPIDRelease: "pid release", CmdIPCBind: "ipc bind",
	CmdIPCUnbind: "ipc unbind", CmdSetConfig: "set config", CmdNop: "nop",
	CmdSetPlacement: "set placement",
}

func (t CommandType) String() string {
	if t > 0 && t < cmdTypeCeiling {
		return cmdNames[t]
	}
	return fmt.Sprintf("command#%d", uint8(t))
}

// Command is one change to the cluster state. Each command type has its own
// struct; its JSON encoding is the log entry body.
type Command interface {
	Type() CommandType
}

// NodeJoin adds a member, or replaces the record of one that rejoins (its
// JoinIndex is kept).
type NodeJoin struct {
	Member Member `json:"member"`
}

// NodeLeave removes a member. Its PID leases stay unless ReleaseLeases is
// set: processes of the departed node may still have records elsewhere, and
// a PID must not be reused while any record of it lives. The caller sets
// ReleaseLeases once it knows they are gone.
type NodeLeave struct {
	ID            string `json:"id"`
	ReleaseLeases bool   `json:"release_leases,omitempty"`
}

// NodeUpdate changes some fields of a member; nil fields are unchanged.
// At stamps a state change (it becomes StateSince).
type NodeUpdate struct {
	ID            string     `json:"id"`
	Address       *string    `json:"address,omitempty"`
	CPUs          *int       `json:"cpus,omitempty"`
	CPUList       []int      `json:"cpu_list,omitempty"`
	MemoryBytes   *uint64    `json:"memory_bytes,omitempty"`
	Role          *Role      `json:"role,omitempty"`
	State         *NodeState `json:"state,omitempty"`
	LastHeartbeat *time.Time `json:"last_heartbeat,omitempty"`
	At            time.Time  `json:"at"`
}

// PIDLease asks for the lowest free PID block for Node.
type PIDLease struct {
	Node string `json:"node"`
}

// PIDRelease gives back the block starting at Start; only its owner may.
type PIDRelease struct {
	Node  string `json:"node"`
	Start int    `json:"start"`
}

// IPCBind binds Key to a new cluster-wide IPC id owned by Owner. If Key is
// bound already, the FSM answers with the existing binding and
// ErrKeyExists.
type IPCBind struct {
	Key   string `json:"key"`
	Owner string `json:"owner"`
}

// IPCUnbind removes Key's binding; only its owner may.
type IPCUnbind struct {
	Key   string `json:"key"`
	Owner string `json:"owner"`
}

// SetConfig replaces the cluster config.
type SetConfig struct {
	Config ClusterConfig `json:"config"`
}

// SetPlacement changes the cluster's default placement policy only. Any
// member may write it (its node checks who asks); the rest of the config
// is the leader's.
type SetPlacement struct {
	Placement string `json:"placement"`
}

// Nop changes nothing.
type Nop struct{}

func (NodeJoin) Type() CommandType     { return CmdNodeJoin }
func (NodeLeave) Type() CommandType    { return CmdNodeLeave }
func (NodeUpdate) Type() CommandType   { return CmdNodeUpdate }
func (PIDLease) Type() CommandType     { return CmdPIDLease }
func (PIDRelease) Type() CommandType   { return CmdPIDRelease }
func (IPCBind) Type() CommandType      { return CmdIPCBind }
func (IPCUnbind) Type() CommandType    { return CmdIPCUnbind }
func (SetConfig) Type() CommandType    { return CmdSetConfig }
func (Nop) Type() CommandType          { return CmdNop }
func (SetPlacement) Type() CommandType { return CmdSetPlacement }

// ErrBadCommand is wrapped by every DecodeCommand error.
var ErrBadCommand = errors.New("bad command")

// maxCommandSize bounds a log entry. Commands are small; a large one is a bug
// or an attack on whoever replays the log.
const maxCommandSize = 1 << 20

// EncodeCommand renders c as a log entry: its type byte, then JSON.
func EncodeCommand(c Command) ([]byte, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %v command: %w", c.Type(), err)
	}
	if len(body)+1 > maxCommandSize {
		return nil, fmt.Errorf("encode %v command: %d bytes, limit %d", c.Type(), len(body)+1, maxCommandSize)
	}
	return append([]byte{byte(c.Type())}, body...), nil
}

// DecodeCommand parses a log entry written by EncodeCommand. JSON (not gob)
// because it is bounded by the input, versionable and readable in a dump of
// the log; the type byte keeps dispatch explicit. Field values are checked
// by the FSM when it applies the command, not here.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadCommand)
	}
	if len(b) > maxCommandSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadCommand, len(b), maxCommandSize)
	}
	t := CommandType(b[0])
	var c Command
	var err error
	switch t {
	case CmdNodeJoin:
		c, err = decodeBody[NodeJoin](b[1:])
	case CmdNodeLeave:
		c, err = decodeBody[NodeLeave](b[1:])
	case CmdNodeUpdate:
		c, err = decodeBody[NodeUpdate](b[1:])
	case CmdPIDLease:
		c, err = decodeBody[PIDLease](b[1:])
	case CmdPIDRelease:
		c, err = decodeBody[PIDRelease](b[1:])
	case CmdIPCBind:
		c, err = decodeBody[IPCBind](b[1:])
	case CmdIPCUnbind:
		c, err = decodeBody[IPCUnbind](b[1:])
	case CmdSetConfig:
		c, err = decodeBody[SetConfig](b[1:])
	case CmdNop:
		c, err = decodeBody[Nop](b[1:])
	case CmdSetPlacement:
		c, err = decodeBody[SetPlacement](b[1:])
	default:
		return nil, fmt.Errorf("%w: unknown type %d", ErrBadCommand, b[0])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v body: %v", ErrBadCommand, t, err)
	}
	return c, nil
}

func decodeBody[T any](body []byte) (T, error) {
	var v T
	err := json.Unmarshal(body, &v)
	return v, err
}
