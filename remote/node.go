package remote

import (
	"herd/pidspace"
	"herd/procview"
)

// The node daemon's RPCs. Payloads are JSON (see frame.go).
//
// Deprecated: the numbers, names and payload types of these messages are
// in the message table (msgtable.go) and its typed descriptors; the
// wrappers below keep the daemon compiling until it switches.
const (
	MsgForward = msgForward
	MsgProcs   = msgProcs
	MsgStatus  = msgStatus
)

// ProcInfo is one process as `herd ps` shows it.
//
// Deprecated: use procview.Row.
type ProcInfo = procview.Row

// ProcTable renders a node's process records for ps.
//
// Deprecated: use procview.FS(procfs).Rows.
func ProcTable(node string, procs []pidspace.Process, procfs string) []ProcInfo {
	return procview.FS(procfs).Rows(node, procs)
}

// ReadLoad reads the 1, 5 and 15 minute load averages from procfs.
//
// Deprecated: use procview.FS(procfs).ReadLoad.
func ReadLoad(procfs string) ([3]float64, error) { return procview.FS(procfs).ReadLoad() }

// ProcsResponse answers MsgProcs.
//
// Deprecated: use nodemsg.ProcsResponse (the same JSON).
type ProcsResponse struct {
	Node  string     `json:"node"`
	Procs []ProcInfo `json:"procs"`
}

// NodeStatus answers MsgStatus.
//
// Deprecated: use nodemsg.NodeStatus (the same JSON).
type NodeStatus struct {
	Node  string     `json:"node"`
	Load  [3]float64 `json:"load"`
	Procs int        `json:"procs"`
}

// RegisterMsgName gives t a name for errors and logs.
//
// Deprecated: every message type has its name in the table (msgtable.go);
// this only renames one.
func RegisterMsgName(t MsgType, name string) {
	msgMu.Lock()
	defer msgMu.Unlock()
	msgTable[t] = msgRow{name: name, req: msgTable[t].req, resp: msgTable[t].resp}
}
