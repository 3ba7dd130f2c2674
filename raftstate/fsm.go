package raftstate

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
)

// FSM is the raft.FSM of the cluster state. Apply decodes a Command and
// executes it; the value Apply returns is always an *ApplyResult.
type FSM struct {
	log *slog.Logger

	mu sync.RWMutex
	st State
}

// ApplyResult is what FSM.Apply returns for every log entry: the command's
// result (a Member, pidspace.Block, IPCBinding or nil) or why it was refused.
type ApplyResult struct {
	Value any
	Err   error
}

var _ raft.FSM = (*FSM)(nil)

// NewFSM returns the FSM of a new, empty cluster. logger may be nil.
func NewFSM(logger *slog.Logger) *FSM {
	if logger == nil {
		logger = slog.Default()
	}
	return &FSM{log: logger, st: NewState()}
}

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return &ApplyResult{}
	}
	cmd, err := DecodeCommand(l.Data)
	if err != nil {
		// Every replica refuses it the same way, so the state stays in step.
		f.log.Error("raftstate: undecodable log entry", "index", l.Index, "err", err)
		return &ApplyResult{Err: fmt.Errorf("apply entry %d: %w", l.Index, err)}
	}
	f.mu.Lock()
	v, err := f.st.apply(cmd, l.Index)
	f.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("%v: %w", cmd.Type(), err)
	}
	return &ApplyResult{Value: v, Err: err}
}

// State returns a deep copy of the current state.
func (f *FSM) State() State {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.Clone()
}

// Members returns the members sorted by id.
func (f *FSM) Members() []Member {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ms := make([]Member, 0, len(f.st.Members))
	for _, m := range f.st.Members {
		ms = append(ms, m.clone())
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	return ms
}

// Member returns the member with the given id.
func (f *FSM) Member(id string) (Member, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.st.Members[id]
	return m.clone(), ok
}

// Leases returns every lease, sorted by block start.
func (f *FSM) Leases() []Lease {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.st.Leases)
}

// LeaseHolder is the node holding the PID block of pid, "" if none.
func (f *FSM) LeaseHolder(pid int) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return HolderOf(f.st.Leases, pid)
}

// HolderOf is the node of the lease in leases whose block holds pid, ""
// if none.
func HolderOf(leases []Lease, pid int) string {
	for _, l := range leases {
		if l.Block.Contains(pid) {
			return l.Node
		}
	}
	return ""
}

// ClusterConfig returns the cluster config.
func (f *FSM) ClusterConfig() ClusterConfig {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.Config
}

// IPCName returns the binding of key.
func (f *FSM) IPCName(key string) (IPCBinding, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, ok := f.st.IPC[key]
	return b, ok
}

// IPCByID returns the binding of IPC id id.
func (f *FSM) IPCByID(id int) (IPCBinding, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, b := range f.st.IPC {
		if b.ID == id {
			return b, true
		}
	}
	return IPCBinding{}, false
}

// Snapshot implements raft.FSM. The state is serialised right away, under
// the read lock, so Persist works on immutable bytes while Apply carries on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	data, err := json.Marshal(&f.st)
	f.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &snapshot{data: data}, nil
}

// Restore implements raft.FSM: it replaces the state with a snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st := NewState()
	st.Config = ClusterConfig{}
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	if st.Members == nil {
		st.Members = map[string]Member{}
	}
	if st.IPC == nil {
		st.IPC = map[string]IPCBinding{}
	}
	if err := st.validate(); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	return nil
}

type snapshot struct{ data []byte }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.data); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
