package nodemsg

import (
	"herd/node/fdproxy"
	"herd/remote"
	"herd/syscalls"
)

// The messages of placement at exec (node/place.go).
var (
	// PlacePrepare hands a process's exec to another node, which makes
	// it ready (its program held at its exec) or answers the errno of
	// what failed.
	PlacePrepare = remote.Bind[PrepareRequest, remote.Empty](remote.NumPlacePrepare)
	// PlaceAbort withdraws a prepared exec.
	PlaceAbort = remote.Bind[AbortRequest, remote.Empty](remote.NumPlaceAbort)
	// PIDReturned gives a lent PID back to its lease holder.
	PIDReturned = remote.Bind[PIDReturn, remote.Empty](remote.NumPIDReturned)
	// Drained asks the node a process was placed from to write what the
	// process wrote before its exit; it answers once written.
	Drained = remote.Bind[DrainRequest, remote.Empty](remote.NumDrained)
)

// PIDReturn names a PID the sender freed: no record of it lives there
// any more.
type PIDReturn struct {
	PID int `json:"pid"`
}

// PrepareRequest is an exec for another node: the process's state and
// its descriptors.
type PrepareRequest struct {
	Plan syscalls.ExecPlan `json:"plan"`
	// ID names the placement: its descriptors' streams
	// (fdproxy.StreamName) and its drain.
	ID  string       `json:"id"`
	Fds []fdproxy.FD `json:"fds,omitempty"`
}

// DrainRequest says how much a placed process wrote to each proxied
// descriptor (fdproxy.Target.Drain) before its exit.
type DrainRequest struct {
	ID     string         `json:"id"`
	Counts map[int]uint64 `json:"counts"`
}

// AbortRequest names the prepared exec to withdraw.
type AbortRequest struct {
	PID int `json:"pid"`
}
