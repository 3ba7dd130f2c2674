package procfs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"herd/procview"
)

// countingSource answers with the number of its calls as the node name,
// after release (if set) is closed.
func countingSource(n *atomic.Int32, release chan struct{}) Source {
	return func(ctx context.Context) ([]procview.NodeStat, error) {
		v := n.Add(1)
		if release != nil {
			<-release
		}
		return []procview.NodeStat{{Node: string(rune('0' + v))}}, nil
	}
}

// Figures are gathered once per TTL, and a caller's cancelled context
// does not cut the gathering short.
func TestCacheFigures(t *testing.T) {
	var n atomic.Int32
	c := NewCache(Config{Source: countingSource(&n, nil), TTL: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		if nodes, err := c.Figures(ctx); err != nil || nodes[0].Node != "1" {
			t.Fatalf("figures %v, %v", nodes, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d gatherings within the TTL, want 1", n.Load())
	}
}

// Recent answers stale figures at once and refreshes them once in the
// background; the first call waits for them.
func TestCacheRecent(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	c := NewCache(Config{Source: countingSource(&n, release), TTL: time.Nanosecond})
	close(release)
	if nodes, _ := c.Recent(context.Background()); nodes[0].Node != "1" {
		t.Fatalf("first: %v", nodes)
	}
	release = make(chan struct{})
	c.cfg.Source = countingSource(&n, release)
	for range 3 {
		if nodes, _ := c.Recent(context.Background()); nodes[0].Node != "1" {
			t.Fatalf("while refreshing: %v, want the stale figures at once", nodes)
		}
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		node, refreshing := c.nodes[0].Node, c.refreshing
		c.mu.Unlock()
		if node == "2" && !refreshing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refresh: %q, refreshing %v", node, refreshing)
		}
		time.Sleep(time.Millisecond)
	}
	if n.Load() != 2 {
		t.Errorf("%d gatherings, want 2 (one refresh for three stale reads)", n.Load())
	}
}
