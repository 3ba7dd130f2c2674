package conformance

import (
	gobuild "go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLayering keeps the rule of direction of docs/architecture.md: each
// package imports only herd's packages below it. A new import across the
// layers fails here, with the package and the import named.
func TestLayering(t *testing.T) {
	allowed := map[string][]string{
		"pidspace":       nil,
		"remote":         nil,
		"ipc":            nil,
		"procview":       {"pidspace"},
		"sentry":         {"pidspace", "procview", "sentry/shim"},
		"sentry/shim":    nil,
		"raftstate":      {"pidspace"},
		"remote/nodemsg": {"ipc", "node/fdproxy", "pidspace", "procview", "raftstate", "remote", "syscalls"},
		"syscalls":       {"ipc", "pidspace", "procview", "sentry"},
		"launch":         {"procview", "sentry"},
		"node/fdproxy":   {"procview", "remote"},
		"node/procfs":    {"procview"},
		"node":           {"ipc", "launch", "node/fdproxy", "node/procfs", "pidspace", "procview", "raftstate", "remote", "remote/nodemsg", "sentry", "syscalls"},
		"node/netns":     nil,
	}
	for pkg, ok := range allowed {
		p, err := gobuild.Default.ImportDir(filepath.Join("..", pkg), 0)
		if err != nil {
			t.Fatalf("read package %s: %v", pkg, err)
		}
		for _, imp := range p.Imports {
			own, isHerd := strings.CutPrefix(imp, "herd/")
			if isHerd && !slices.Contains(ok, own) {
				t.Errorf("%s imports %s: only %v may be imported from there (docs/architecture.md, the packages)", pkg, imp, ok)
			}
		}
	}
}
