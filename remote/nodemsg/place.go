package nodemsg

import (
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
	Fds  []FdDesc          `json:"fds,omitempty"`
}

// FdDesc is one descriptor a placed process keeps across its exec, to be
// made anew on the node it goes to.
type FdDesc struct {
	Num    int    `json:"num"`
	Flags  int    `json:"flags"`
	Offset int64  `json:"offset,omitempty"`
	Path   string `json:"path"`
}

// AbortRequest names the prepared exec to withdraw.
type AbortRequest struct {
	PID int `json:"pid"`
}
