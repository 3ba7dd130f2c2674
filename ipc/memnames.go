package ipc

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
)

// memNames is a Names in memory: a node alone's (every owner is up), or
// several Services' in one process in the tests. Ids are never reused.
type memNames struct {
	mu    sync.Mutex
	names map[string]binding
	next  int
	down  map[string]bool
}

type binding struct {
	id    int
	owner string
}

// NewMemNames is a Names in memory for a node alone.
func NewMemNames() Names { return newMemNames() }

func newMemNames() *memNames {
	return &memNames{names: map[string]binding{}, down: map[string]bool{}}
}

func (m *memNames) Bind(_ context.Context, name, owner string) (int, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.names[name]; ok && !m.down[b.owner] {
		return b.id, b.owner, true, nil
	}
	b := binding{id: m.next, owner: owner}
	m.next++
	m.names[name] = b
	return b.id, owner, false, nil
}

func (m *memNames) Lookup(_ context.Context, name string) (int, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.names[name]
	return b.id, b.owner, ok
}

func (m *memNames) ByID(_ context.Context, id int) (string, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, b := range m.names {
		if b.id == id {
			return name, b.owner, true
		}
	}
	return "", "", false
}

func (m *memNames) Unbind(_ context.Context, name, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.names[name]; !ok || b.owner != owner {
		return unix.EINVAL
	}
	delete(m.names, name)
	return nil
}

func (m *memNames) Up(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.down[node]
}

func (m *memNames) setDown(node string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down[node] = true
}
