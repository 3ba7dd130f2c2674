package remote

import (
	"fmt"
	"reflect"
	"sync"
)

// MsgType selects the handler of a request. Types below 16 are the
// transport's own; services number theirs from 16.
type MsgType uint16

// The message table: every message type of the node port, with its name
// and its request → response types. This is the only place a number is
// given. remote imports nothing of herd's, so the services' payload types
// are bound to their numbers by remote/nodemsg (Bind), which checks that
// each number has exactly one pair of types.
const (
	// MsgJoin: JoinRequest → JoinResponse, on 'J' connections only.
	MsgJoin MsgType = 1
	// MsgPing: Empty → Empty, answered by every Server (Ping).
	MsgPing MsgType = 2

	// msgForward: raftstate.ForwardRequest → raftstate.ForwardResponse, a
	// write forwarded to the Raft leader (nodemsg.Forward).
	msgForward MsgType = 16
	// msgProcs: Empty → nodemsg.ProcsResponse, the processes whose PIDs a
	// node homes (nodemsg.Procs).
	msgProcs MsgType = 17
	// msgStatus: Empty → nodemsg.NodeStatus, a node's load now
	// (nodemsg.Status).
	msgStatus MsgType = 18

	// Between the Spaces of different nodes (numbers 19-29).

	// msgPeerEvents: nodemsg.PeerEventsRequest → Empty, a batch of
	// pidspace.PeerEvents for the receiving node, in order
	// (nodemsg.PeerEvents).
	msgPeerEvents MsgType = 19
	// msgPeerGroup: nodemsg.GroupRequest → pidspace.GroupView, what the
	// receiver homes of a process group (nodemsg.Group).
	msgPeerGroup MsgType = 20
	// msgPeerAll: Empty → nodemsg.AllResponse, every record the receiver
	// homes, for kill(-1) (nodemsg.All).
	msgPeerAll MsgType = 21
	// msgSignal: nodemsg.SignalRequest → Empty, signals to deliver to
	// processes running on the receiver (nodemsg.Signal).
	msgSignal MsgType = 22
	// msgKill: nodemsg.KillRequest → Empty, a process-directed signal to
	// a PID the sender does not hold, decided by the receiver
	// (nodemsg.Kill).
	msgKill MsgType = 23
	// msgProcCall: nodemsg.ProcCallRequest → nodemsg.ProcCallResponse, a
	// process call (prlimit, sched_*, get/setpriority) on a PID running
	// on the receiver, made there for a process of the sender
	// (nodemsg.ProcCall).
	msgProcCall MsgType = 24

	// msgPlacePrepare: nodemsg.PrepareRequest → Empty, an exec handed
	// to another node, made ready there (nodemsg.PlacePrepare).
	msgPlacePrepare MsgType = 30
	// msgPlaceAbort: nodemsg.AbortRequest → Empty, a prepared exec
	// withdrawn (nodemsg.PlaceAbort).
	msgPlaceAbort MsgType = 31
	// msgPIDReturned: nodemsg.PIDReturn → Empty, a lent PID freed where
	// its process's record ended, back to its lease holder
	// (nodemsg.PIDReturned).
	msgPIDReturned MsgType = 32
	// msgDrained: nodemsg.DrainRequest → Empty, what a placed process
	// wrote before its exit, to be written where it came from
	// (nodemsg.Drained).
	msgDrained MsgType = 33

	// System V IPC (numbers 40-49).

	// msgIPC: ipc.Request → ipc.Reply, an operation on a System V IPC
	// object carried out at the node that owns it (nodemsg.IPC).
	msgIPC MsgType = 40
)

// Exported numbers of the service messages, for remote/nodemsg's Bind.
const (
	NumForward = msgForward
	NumProcs   = msgProcs
	NumStatus  = msgStatus

	NumPeerEvents = msgPeerEvents
	NumPeerGroup  = msgPeerGroup
	NumPeerAll    = msgPeerAll
	NumSignal     = msgSignal
	NumKill       = msgKill
	NumProcCall   = msgProcCall

	NumPlacePrepare = msgPlacePrepare
	NumPlaceAbort   = msgPlaceAbort
	NumPIDReturned  = msgPIDReturned
	NumDrained      = msgDrained

	NumIPC = msgIPC
)

type msgRow struct {
	name      string
	req, resp reflect.Type // nil until bound
}

var (
	msgMu    sync.RWMutex
	msgTable = map[MsgType]msgRow{
		MsgJoin:    {name: "join"},
		MsgPing:    {name: "ping"},
		msgForward: {name: "forward"},
		msgProcs:   {name: "procs"},
		msgStatus:  {name: "status"},

		msgPeerEvents: {name: "peer-events"},
		msgPeerGroup:  {name: "peer-group"},
		msgPeerAll:    {name: "peer-all"},
		msgSignal:     {name: "signal"},
		msgKill:       {name: "kill"},
		msgProcCall:   {name: "proc-call"},

		msgPlacePrepare: {name: "place-prepare"},
		msgPlaceAbort:   {name: "place-abort"},
		msgPIDReturned:  {name: "pid-returned"},
		msgDrained:      {name: "drained"},

		msgIPC: {name: "ipc"},
	}
)

func (t MsgType) String() string {
	msgMu.RLock()
	row, ok := msgTable[t]
	msgMu.RUnlock()
	if ok {
		return row.name
	}
	return fmt.Sprintf("msg#%d", uint16(t))
}

// Empty is the payload of a message that carries nothing.
type Empty = struct{}

// Msg describes one message type of the table with its Go request and
// response types: Call and Handle take it, so a caller and a handler
// cannot disagree on the payloads. Payloads are JSON, except []byte,
// which travels raw.
type Msg[Req, Resp any] struct{ t MsgType }

// Type is the message's number.
func (m Msg[Req, Resp]) Type() MsgType { return m.t }

func (m Msg[Req, Resp]) String() string { return m.t.String() }

// Ping is answered by every Server.
var Ping = Bind[Empty, Empty](MsgPing)

// Bind returns the descriptor of message t with request type Req and
// response type Resp. It panics if t is not in the table or was bound to
// other types: call it from a package-level var, as nodemsg does, so a
// clash fails every test at init.
func Bind[Req, Resp any](t MsgType) Msg[Req, Resp] {
	req, resp := reflect.TypeFor[Req](), reflect.TypeFor[Resp]()
	msgMu.Lock()
	defer msgMu.Unlock()
	row, ok := msgTable[t]
	if !ok {
		panic(fmt.Sprintf("remote: message type %d is not in the table (msgtable.go)", t))
	}
	if row.req != nil && (row.req != req || row.resp != resp) {
		panic(fmt.Sprintf("remote: message %s bound to %v → %v and to %v → %v", row.name, row.req, row.resp, req, resp))
	}
	row.req, row.resp = req, resp
	msgTable[t] = row
	return Msg[Req, Resp]{t: t}
}
