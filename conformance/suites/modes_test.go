package suites

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herd/conformance"
)

// A mode is how a workload runs: natively (the oracle) or under `herd
// run` in one of the conformance package's modes.
type mode struct {
	name string
	// prefix returns the argv before the workload's; it fails or skips
	// t when the mode cannot run.
	prefix func(t *testing.T) []string
}

func (m mode) String() string { return m.name }

var (
	native = mode{"native", func(*testing.T) []string { return nil }}
	// single is the embedded node: `herd run` without a daemon.
	single = mode{"single", func(t *testing.T) []string { return herdRun(t) }}
	// daemon runs through n2 of a three-node --netns cluster.
	daemon = mode{"daemon", func(t *testing.T) []string {
		return herdRun(t, "--socket", clusterSocket(t))
	}}
	// spread is the daemon mode with every execve of the workload and
	// its descendants sent round-robin over the three nodes.
	spread = mode{"spread", func(t *testing.T) []string {
		return herdRun(t, "--socket", clusterSocket(t), "--placement", "spread")
	}}
)

// allModes are the herd modes every suite runs in.
var allModes = []mode{single, daemon, spread}

// forModes runs f as a subtest named after each mode of ms.
func forModes(t *testing.T, ms []mode, f func(t *testing.T, m mode)) {
	t.Helper()
	for _, m := range ms {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

// herdRun is the argv of `herd run` with flags, $HERD_RUN_FLAGS and "--".
func herdRun(t *testing.T, flags ...string) []string {
	argv := append([]string{herd(t), "run"}, flags...)
	argv = append(argv, strings.Fields(os.Getenv("HERD_RUN_FLAGS"))...)
	return append(argv, "--")
}

// The cluster of the daemon and spread modes: started by the first test
// that needs it, stopped by TestMain after the tests.
var (
	clusterOnce sync.Once
	clusterDir  string
	clusterSock string
	clusterErr  error
	clusterMu   sync.Mutex // guards clusterDown, which the watchdog may call
	clusterDown func()
	clusterPIDs = map[int]bool{} // the node daemons, which sweep spares
)

// clusterSocket returns the socket of the cluster's n2, starting the
// cluster the first time.
func clusterSocket(t *testing.T) string {
	t.Helper()
	bin := herd(t)
	clusterOnce.Do(func() {
		clusterDir = filepath.Join(workDir, "cluster")
		clusterMu.Lock()
		defer clusterMu.Unlock()
		clusterSock, clusterDown, clusterErr = conformance.UpCluster(bin, clusterDir)
		pids, _ := filepath.Glob(filepath.Join(clusterDir, "*", "herd.pid"))
		for _, f := range pids {
			b, _ := os.ReadFile(f)
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				clusterPIDs[pid] = true
			}
		}
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return clusterSock
}

// isClusterDaemon tells whether pid is one of the cluster's node daemons.
func isClusterDaemon(pid int) bool { return clusterPIDs[pid] }

// clusterWatchdog stops the cluster shortly before -test.timeout, whose
// panic ends the test binary without running TestMain's cleanup: the
// cluster's daemons and namespaces must not outlive a run that took too
// long. It returns the function that disarms it.
func clusterWatchdog() (disarm func()) {
	flag.Parse()
	f := flag.Lookup("test.timeout")
	if f == nil {
		return func() {}
	}
	d, ok := f.Value.(flag.Getter).Get().(time.Duration)
	if !ok || d <= 0 {
		return func() {}
	}
	timer := time.AfterFunc(d-min(d/10, 30*time.Second), func() {
		fmt.Fprintf(os.Stderr, "suites: -test.timeout=%v is near: stopping the cluster\n", d)
		stopCluster()
	})
	return func() { timer.Stop() }
}

// stopCluster stops the cluster, if one was started.
func stopCluster() {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if clusterDown != nil {
		clusterDown()
		clusterDown = nil
	}
}
