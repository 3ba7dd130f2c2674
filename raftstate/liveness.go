package raftstate

import (
	"sort"
	"sync"
	"time"
)

// Default liveness thresholds: how long without a heartbeat before a node
// is suspect, and before it is down.
const (
	DefaultSuspectAfter = 3 * time.Second
	DefaultDownAfter    = 10 * time.Second
)

// Liveness is the leader's in-memory record of node heartbeats. Heartbeats
// cost nothing in Raft; Transitions says which committed states are now
// wrong, and the leader commits only those (see Store.CheckLiveness).
//
// A node never seen since Reset counts as having beaten at the Reset time,
// so a new leader gives every node a full grace period.
type Liveness struct {
	SuspectAfter time.Duration
	DownAfter    time.Duration

	mu    sync.Mutex
	since time.Time
	last  map[string]time.Time
}

// NewLiveness returns a tracker whose grace period starts at now.
func NewLiveness(suspectAfter, downAfter time.Duration, now time.Time) *Liveness {
	return &Liveness{SuspectAfter: suspectAfter, DownAfter: downAfter, since: now, last: map[string]time.Time{}}
}

// Reset forgets every heartbeat and restarts the grace period at now.
func (l *Liveness) Reset(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.since = now
	l.last = map[string]time.Time{}
}

// Heartbeat records that node was alive at t.
func (l *Liveness) Heartbeat(node string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.last[node]) {
		l.last[node] = t
	}
}

// LastHeartbeat is the last heartbeat recorded for node, if any.
func (l *Liveness) LastHeartbeat(node string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.last[node]
	return t, ok
}

// Transition is a state change the leader should commit.
type Transition struct {
	Node          string
	From, To      NodeState
	LastHeartbeat time.Time // zero if none was seen since Reset
}

// Transitions compares each member's committed state with what its last
// heartbeat says at now, and returns the changes, sorted by node id.
func (l *Liveness) Transitions(members []Member, now time.Time) []Transition {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Transition
	for _, m := range members {
		last, seen := l.last[m.ID]
		ref := last
		if !seen {
			ref = l.since
		}
		age := now.Sub(ref)
		want := StateUp
		switch {
		case age >= l.DownAfter:
			want = StateDown
		case age >= l.SuspectAfter:
			want = StateSuspect
		}
		// Without a heartbeat since Reset, a node that is down stays down:
		// only a heartbeat brings it back.
		if !seen && m.State == StateDown {
			want = StateDown
		}
		if want != m.State {
			out = append(out, Transition{Node: m.ID, From: m.State, To: want, LastHeartbeat: last})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}
