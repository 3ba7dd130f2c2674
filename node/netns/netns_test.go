package netns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
}

// testNet makes a cluster network of n nodes named after a temp dir and
// removes it at cleanup, also when the test fails.
func testNet(t *testing.T, n int) Net {
	t.Helper()
	nt := choose(t)
	t.Cleanup(func() {
		if err := nt.Remove(); err != nil {
			t.Errorf("remove: %v", err)
		}
	})
	if err := nt.Create(n); err != nil {
		t.Fatal(err)
	}
	return nt
}

// choose is a Net for a new cluster named after a temp dir.
func choose(t *testing.T) Net {
	t.Helper()
	unlock, err := Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	nt, err := Choose(NameFor(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return nt
}

// dialFrom dials addr from node i's namespace.
func dialFrom(nt Net, i int, addr string, timeout time.Duration) error {
	return onThread(func() error {
		if err := enter(nt.Node(i)); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// listenIn listens on node i's address in its namespace.
func listenIn(t *testing.T, nt Net, i int) net.Listener {
	t.Helper()
	var l net.Listener
	err := onThread(func() error {
		if err := enter(nt.Node(i)); err != nil {
			return err
		}
		var err error
		l, err = net.Listen("tcp", netip.AddrPortFrom(nt.Addr(i), 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l
}

// Two nodes reach each other over their veths through the hub; a cut
// link stops that and restoring it brings it back; the host does not see
// the cluster's range; Remove leaves no namespace.
func TestCreateConnectCutRemove(t *testing.T) {
	needRoot(t)
	nt := testNet(t, 2)
	names, _ := nt.Namespaces()
	if len(names) != 3 {
		t.Fatalf("namespaces %v, want hub, n1, n2", names)
	}
	l := listenIn(t, nt, 2)
	addr := l.Addr().String()
	if !strings.HasPrefix(addr, nt.Addr(2).String()+":") {
		t.Fatalf("listening on %s, want %v", addr, nt.Addr(2))
	}
	if err := dialFrom(nt, 1, addr, 10*time.Second); err != nil {
		t.Fatalf("n1 → n2: %v", err)
	}
	// Loopback is up in a node's namespace.
	if err := dialFrom(nt, 2, addr, 10*time.Second); err != nil {
		t.Fatalf("n2 → itself: %v", err)
	}
	if err := nt.SetLink(2, false); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(nt, 1, addr, 500*time.Millisecond); err == nil {
		t.Error("n1 reached n2 through a cut link")
	}
	if err := nt.SetLink(2, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for err := dialFrom(nt, 1, addr, time.Second); err != nil; err = dialFrom(nt, 1, addr, time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("n1 → n2 after the link came back: %v", err)
		}
	}
	// The host has no address in the cluster's subnet.
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && nt.Subnet.Contains(p.Addr()) {
				t.Errorf("host has %v, in the cluster's subnet", a)
			}
		}
	}
	if err := nt.Remove(); err != nil {
		t.Fatal(err)
	}
	if names, _ := nt.Namespaces(); len(names) != 0 {
		t.Errorf("after Remove: %v", names)
	}
}

// A second cluster chooses a subnet the first does not hold, even when
// both names hash to the same start; Create over leftovers replaces them.
func TestChooseAvoidsOtherHubs(t *testing.T) {
	needRoot(t)
	a := testNet(t, 1)
	if c := a.Clash(); c != "" {
		t.Errorf("fresh subnet %v clashes with %s", a.Subnet, c)
	}
	if b := choose(t); b.Subnet == a.Subnet {
		t.Errorf("two clusters on %v", a.Subnet)
	}
	// Same subnet under another name: Clash names the holder.
	c := Net{Name: NameFor(t.TempDir()), Subnet: a.Subnet}
	if got := c.Clash(); got != a.Hub() {
		t.Errorf("Clash of %v: %q, want %s", c.Subnet, got, a.Hub())
	}
	// Leftovers (a hub without nodes) are replaced by Create.
	if err := a.Create(2); err != nil {
		t.Fatalf("Create over leftovers: %v", err)
	}
	if names, _ := a.Namespaces(); len(names) != 3 {
		t.Errorf("after re-Create: %v", names)
	}
}

// Start runs a process in a node's namespace: it sees eth0 with the
// node's address.
func TestStartInNamespace(t *testing.T) {
	needRoot(t)
	nt := testNet(t, 1)
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip command to look with")
	}
	var out strings.Builder
	cmd := exec.Command(ip, "-o", "-4", "addr", "show", "dev", NodeLink)
	cmd.Stdout = &out
	if err := nt.Start(1, cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ip addr in n1: %v", err)
	}
	if !strings.Contains(out.String(), nt.Addr(1).String()+"/24") {
		t.Errorf("n1's eth0: %q, want %v/24", out.String(), nt.Addr(1))
	}
	if err := (Net{Name: "x"}).Check(1); err == nil {
		t.Error("Check accepts a name without herd-")
	}
	if nt.Check(MaxNodes+1) == nil {
		t.Errorf("Check accepts %d nodes", MaxNodes+1)
	}
}
