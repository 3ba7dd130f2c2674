package cluster

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// herd cluster up --netns: every node in a network namespace of its own,
// on a veth pair to a bridge in the cluster's hub namespace. DIR/netns
// names the network; DIR/n<i>/link says which link cuts node i off.

// clusterNet mirrors DIR/netns.
type clusterNet struct {
	Name   string       `json:"name"`
	Subnet netip.Prefix `json:"subnet"`
}

func (c *testCluster) net() clusterNet {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, "netns"))
	if err != nil {
		c.t.Fatalf("a --netns cluster without DIR/netns: %v", err)
	}
	var n clusterNet
	if err := json.Unmarshal(b, &n); err != nil || n.Name == "" || !n.Subnet.IsValid() {
		c.t.Fatalf("DIR/netns %q: %v", b, err)
	}
	return n
}

// ipCmd runs the ip command of iproute2.
func ipCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// namespaces lists the named network namespaces of the cluster (ip netns).
func (c *testCluster) namespaces(name string) []string {
	c.t.Helper()
	var out []string
	for _, line := range strings.Split(ipCmd(c.t, "netns", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], name+"-") {
			out = append(out, f[0])
		}
	}
	return out
}

// checkNothingLeft fails if a namespace of the cluster is still named, or
// the host has a link or an address of it.
func (c *testCluster) checkNothingLeft(n clusterNet) {
	c.t.Helper()
	if left := c.namespaces(n.Name); len(left) > 0 {
		c.t.Errorf("ip netns lists %v after herd cluster down", left)
	}
	ours := map[string]bool{"hub": true}
	for i := 1; i <= c.n; i++ {
		ours["n"+strconv.Itoa(i)] = true
	}
	for _, line := range strings.Split(ipCmd(c.t, "-o", "link", "show"), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && ours[strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]] {
			c.t.Errorf("the host has a link of the cluster: %s", line)
		}
	}
	for _, line := range strings.Split(ipCmd(c.t, "-o", "-4", "addr", "show"), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 {
			if p, err := netip.ParsePrefix(f[3]); err == nil && n.Subnet.Contains(p.Addr()) {
				c.t.Errorf("the host has an address in the cluster's %v: %s", n.Subnet, line)
			}
		}
	}
}

// removeLeftovers, at cleanup after herd cluster down, fails the test for
// every namespace still named and deletes it, so that none outlives it.
func (c *testCluster) removeLeftovers() {
	b, err := os.ReadFile(filepath.Join(c.dir, "netns"))
	var n clusterNet
	if err != nil || json.Unmarshal(b, &n) != nil || n.Name == "" {
		return
	}
	for _, ns := range c.namespaces(n.Name) {
		c.t.Errorf("herd cluster down left namespace %s", ns)
		exec.Command("ip", "netns", "delete", ns).Run()
	}
}

// setLink sets node i's link up or down as a user would, from DIR/n<i>/link.
func (c *testCluster) setLink(i int, state string) {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.node(i), "link"))
	f := strings.Fields(string(b))
	if err != nil || len(f) != 2 {
		c.t.Fatalf("n%d/link: %q %v, want \"HUB-NAMESPACE LINK\"", i, b, err)
	}
	ipCmd(c.t, "-n", f[0], "link", "set", f[1], state)
}

// linkBytes is what node i's link has carried, both ways, as the hub's
// end counts it.
func (c *testCluster) linkBytes(i int) uint64 {
	c.t.Helper()
	b, _ := os.ReadFile(filepath.Join(c.node(i), "link"))
	f := strings.Fields(string(b))
	if len(f) != 2 {
		c.t.Fatalf("n%d/link: %q", i, b)
	}
	var links []struct {
		Stats struct {
			RX struct{ Bytes uint64 } `json:"rx"`
			TX struct{ Bytes uint64 } `json:"tx"`
		} `json:"stats64"`
	}
	out := ipCmd(c.t, "-j", "-s", "-n", f[0], "link", "show", f[1])
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		c.t.Fatalf("ip -j -s link show: %v %s", err, out)
	}
	return links[0].Stats.RX.Bytes + links[0].Stats.TX.Bytes
}

// allUp is herd nodes through node via, and whether it lists every node
// of the cluster up.
func (c *testCluster) allUp(via int) ([]nodeRow, bool) {
	rows, ok := c.tryNodes(via)
	if !ok || len(rows) != c.n {
		return rows, false
	}
	for _, r := range rows {
		if r.State != "up" {
			return rows, false
		}
	}
	return rows, true
}

// checkAddrs fails unless rows are n up nodes, each at its own address
// of subnet.
func checkAddrs(t *testing.T, rows []nodeRow, n int, subnet netip.Prefix) map[string]string {
	t.Helper()
	addrs := map[string]string{}
	seen := map[netip.Addr]bool{}
	for _, r := range rows {
		ap, err := netip.ParseAddrPort(r.Address)
		if err != nil || !subnet.Contains(ap.Addr()) || seen[ap.Addr()] || r.State != "up" {
			t.Errorf("node %+v: want up at an address of its own in %v", r, subnet)
		}
		seen[ap.Addr()] = true
		addrs[r.ID] = r.Address
	}
	if len(rows) != n {
		t.Errorf("herd nodes lists %d nodes, want %d: %+v", len(rows), n, rows)
	}
	return addrs
}

// A --netns cluster of three: every node up at an address of the chosen
// range, node traffic on the veths, programs run through n1 inside n1's
// namespace, and herd cluster down leaves no namespace, link or address.
func TestNetnsCluster(t *testing.T) {
	c := upClusterNet(t, 3, 3, true)
	n := c.net()
	if !netip.MustParsePrefix("10.77.0.0/16").Contains(n.Subnet.Addr()) || n.Subnet.Bits() != 24 {
		t.Errorf("subnet %v, want a /24 of 10.77.0.0/16", n.Subnet)
	}
	if got := c.namespaces(n.Name); len(got) != 4 {
		t.Errorf("ip netns lists %v, want a hub and three nodes", got)
	}
	checkAddrs(t, c.nodes(1), 3, n.Subnet)

	// herd nodes through n1 asks n2 for its load: over n2's link.
	before := c.linkBytes(2)
	c.nodes(1)
	if after := c.linkBytes(2); after <= before {
		t.Errorf("n2's link carried %d bytes, then %d after herd nodes: no node traffic on it", before, after)
	}
	// The program runs in n1's namespace: its /proc/net shows n1's address.
	out, errOut, st := herd(t, c.sock(1), "run", "--", "/bin/sh", "-c", "echo hello; cat /proc/net/fib_trie")
	if st != 0 || !strings.HasPrefix(out, "hello\n") {
		t.Fatalf("herd run via n1: status %d, %q %q", st, out, errOut)
	}
	seen := map[string]bool{}
	for _, f := range strings.Fields(out) {
		seen[f] = true
	}
	for _, r := range c.nodes(1) {
		ap, _ := netip.ParseAddrPort(r.Address)
		if mine := seen[ap.Addr().String()]; mine != (r.ID == "n1") {
			t.Errorf("a program run through n1 sees %s's address %v: %v", r.ID, ap.Addr(), mine)
		}
	}
	c.down()
	c.checkNothingLeft(n)
}

// Cutting a node's link makes the others mark it suspect or down, and
// they keep serving herd run; restoring the link brings it back up. The
// node cut is the leader, so the survivors must also elect a new one.
func TestNetnsLinkCut(t *testing.T) {
	c := upClusterNet(t, 3, 3, true)
	for i := 1; i <= 3; i++ {
		c.pidOf(i) // every node holds a lease
	}
	cutID := leaderOf(c.nodes(1))
	cut := c.index(cutID)
	survivors := []int{cut%3 + 1, (cut+1)%3 + 1}
	c.setLink(cut, "down")
	waitFor(t, 30*time.Second, cutID+" suspect or down and a new leader", func() bool {
		rows, ok := c.tryNodes(survivors[0])
		if !ok {
			return false
		}
		l := leaderOf(rows)
		for _, r := range rows {
			if r.ID == cutID && r.State != "up" && l != "" && l != cutID {
				return true
			}
		}
		return false
	})
	for _, s := range survivors {
		c.pidOf(s)
	}
	c.setLink(cut, "up")
	waitFor(t, 60*time.Second, cutID+" up again", func() bool {
		_, ok := c.allUp(survivors[1])
		return ok
	})
	c.pidOf(cut)
}

// herd cluster down after a node crashed leaves nothing; the next up
// restarts the nodes at the same addresses; after a kill -9 of every node
// the namespaces are left, and herd cluster up replaces them.
func TestNetnsCrashAndRestart(t *testing.T) {
	c := upClusterNet(t, 3, 3, true)
	n := c.net()
	addrs := checkAddrs(t, c.nodes(1), 3, n.Subnet)
	c.kill9(3)
	c.down()
	c.checkNothingLeft(n)

	restart := func(what string) {
		t.Helper()
		c.up(3)
		var rows []nodeRow
		waitFor(t, 30*time.Second, "every node up after "+what, func() bool {
			var ok bool
			rows, ok = c.allUp(2)
			return ok
		})
		for id, a := range checkAddrs(t, rows, 3, n.Subnet) {
			if addrs[id] != a {
				t.Errorf("after %s %s is at %s, was at %s", what, id, a, addrs[id])
			}
		}
		for i := 1; i <= 3; i++ {
			c.pidOf(i)
		}
	}
	restart("cluster down")
	for i := 1; i <= 3; i++ {
		c.kill9(i)
	}
	if left := c.namespaces(n.Name); len(left) != 4 {
		t.Errorf("after kill -9 of every node ip netns lists %v, want the four namespaces left", left)
	}
	restart("kill -9")
	c.down()
	c.checkNothingLeft(n)
}
