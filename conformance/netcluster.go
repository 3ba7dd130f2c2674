package conformance

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// UpCluster starts a three-node cluster with bin (`herd cluster up
// --netns`: each node in a network namespace of its own, node traffic
// over veth pairs) in dir and returns the socket of n2, which is not the
// bootstrap node, so its leases go through the leader. down stops it and
// removes its namespaces; it is returned even when up fails half-way, and
// the caller must call it: no daemon or namespace may outlive the tests.
func UpCluster(bin, dir string) (sock string, down func(), err error) {
	down = func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = exec.CommandContext(ctx, bin, "cluster", "down", "--dir", dir).Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "cluster", "up", "--nodes", "3", "--netns", "--dir", dir).CombinedOutput()
	if err != nil {
		return "", down, fmt.Errorf("herd cluster up: %v\n%s", err, out)
	}
	return filepath.Join(dir, "n2", "herd.sock"), down, nil
}
