package conformance

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The daemon mode runs every program through a node daemon of a real
// three-node cluster (herd cluster up --netns): the launcher path users
// take when a node runs on their machine, with the caller's identity from
// the socket and PIDs leased through Raft. Each node is in a network
// namespace of its own, so node traffic crosses real interfaces (veth
// pairs), and the programs run in n2's namespace. It uses n2, which is not
// the bootstrap node, so its leases are forwarded to the leader.
var (
	clusterOnce sync.Once
	clusterSock string
	clusterErr  error
	clusterStop func()
)

func startDaemon(t *testing.T) []string {
	bin, err := herdBinary()
	if err != nil {
		t.Fatalf("herd binary unavailable: %v", err)
	}
	clusterOnce.Do(func() {
		dir := filepath.Join(workDir, "cluster")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "cluster", "up", "--nodes", "3", "--netns", "--dir", dir).CombinedOutput()
		// Stop it at the end of the test binary even if up failed
		// half-way: no daemon or namespace may outlive the tests.
		clusterStop = func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			exec.CommandContext(ctx, bin, "cluster", "down", "--dir", dir).Run()
		}
		if err != nil {
			clusterErr = fmt.Errorf("herd cluster up: %v\n%s", err, out)
			return
		}
		clusterSock = filepath.Join(dir, "n2", "herd.sock")
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return append(append([]string{bin, "run", "--socket", clusterSock}, runFlags()...), "--")
}

// stopCluster is called by TestMain after the tests.
func stopCluster() {
	if clusterStop != nil {
		clusterStop()
	}
}
