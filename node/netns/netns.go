// Package netns gives each node of a local cluster (herd cluster up
// --netns) a network namespace of its own, so that node traffic crosses
// real interfaces: every node namespace has one veth pair to a bridge in a
// hub namespace of the cluster's own; the host's interfaces, routes and
// firewall are never touched.
//
//	host namespace: nothing of the cluster's but names in /run/netns
//
//	herd-<h>-n1          herd-<h>-n2          herd-<h>-n3     node namespaces
//	 eth0 10.77.K.1/24    eth0 10.77.K.2/24    eth0 10.77.K.3/24
//	  │ veth               │ veth               │ veth
//	┌─┼────────────────────┼────────────────────┼──────┐
//	│ n1                   n2                   n3     │ herd-<h>-hub
//	│ └──── bridge "hub" 10.77.K.254/24 ────────┘      │
//	└──────────────────────────────────────────────────┘
//
// Why a hub namespace and not a bridge in the host namespace: the host's
// firewall then never sees the cluster's frames (a host with Docker drops
// bridged traffic in FORWARD when br_netfilter is loaded), no route to the
// cluster's range appears on the host (it cannot shadow a real network
// that uses the same private range, and no host process sends to it by
// mistake), and removing the hub namespace removes every link at once.
// The cost is that the host cannot dial a node's address; nothing needs
// it: herd run, herd ps and herd nodes reach node daemons through their
// unix sockets, which work across network namespaces.
//
// Namespaces are named (bind-mounted in /run/netns, as `ip netns add`
// does) so that `ip netns` and `ip -n` see them, they outlive a node
// killed with SIGKILL (the cluster restarts on the same links), and
// a cluster's leftovers are found by name alone. The links are made with
// netlink (github.com/vishvananda/netlink), not by running ip.
package netns

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Range is where cluster subnets come from: one /24 per cluster.
var Range = netip.MustParsePrefix("10.77.0.0/16")

const (
	// NSDir is where named network namespaces are bind-mounted (iproute2's
	// place, so `ip netns` lists them).
	NSDir = "/run/netns"
	// HubBridge is the bridge in the hub namespace.
	HubBridge = "hub"
	// NodeLink is the node's end of its veth pair, in its namespace.
	NodeLink = "eth0"
	// MaxNodes is the most nodes a cluster subnet holds (.1 to .64).
	MaxNodes = 64
	// lockFile serialises choosing subnets between herd cluster ups.
	lockFile = "/run/herd-netns.lock"
)

// Net is the network of one local cluster.
type Net struct {
	Name   string       // prefix of its namespaces' names: "herd-<8 hex digits>"
	Subnet netip.Prefix // a /24 of Range
}

// NameFor is the namespace prefix of the cluster kept in dir (an absolute
// path): a hash of it, so that the leftovers of a cluster killed with
// SIGKILL are found from its directory.
func NameFor(dir string) string {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return fmt.Sprintf("herd-%08x", h.Sum32())
}

// Hub is the name of the hub namespace.
func (n Net) Hub() string { return n.Name + "-hub" }

// Node is the name of node i's namespace.
func (n Net) Node(i int) string { return fmt.Sprintf("%s-n%d", n.Name, i) }

// HubLink is the hub's end of node i's veth pair, in the hub namespace:
// `ip -n HUB link set n<i> down` cuts node i off.
func (n Net) HubLink(i int) string { return fmt.Sprintf("n%d", i) }

// Addr is node i's address.
func (n Net) Addr(i int) netip.Addr { return n.host(byte(i)) }

// HubAddr is the bridge's address.
func (n Net) HubAddr() netip.Addr { return n.host(254) }

func (n Net) host(b byte) netip.Addr {
	a := n.Subnet.Addr().As4()
	a[3] = b
	return netip.AddrFrom4(a)
}

// subnet is the k-th /24 of Range.
func subnet(k int) netip.Prefix {
	a := Range.Addr().As4()
	a[2] = byte(k)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// Check reports a Net that Create could not make.
func (n Net) Check(nodes int) error {
	switch {
	case nodes < 1 || nodes > MaxNodes:
		return fmt.Errorf("a cluster network holds 1 to %d nodes, not %d", MaxNodes, nodes)
	case !strings.HasPrefix(n.Name, "herd-") || strings.ContainsAny(n.Name, "/ "):
		return fmt.Errorf("namespace prefix %q", n.Name)
	case n.Subnet.Bits() != 24 || !Range.Contains(n.Subnet.Addr()):
		return fmt.Errorf("subnet %v is not a /24 of %v", n.Subnet, Range)
	}
	return nil
}

// Lock takes the host-wide lock under which a cluster chooses its subnet
// and makes its hub, so that two herd cluster ups do not take one subnet.
func Lock() (unlock func(), err error) {
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", lockFile, err)
	}
	return func() { f.Close() }, nil
}

// Choose picks a subnet for a new cluster named name: the /24 of Range its
// hash gives, or the next one no other cluster's hub holds. Call it under
// Lock, and Create before unlocking.
func Choose(name string) (Net, error) {
	used := usedSubnets(name)
	h := fnv.New32a()
	h.Write([]byte(name))
	start := int(h.Sum32() % 256)
	for j := range 256 {
		k := (start + j) % 256
		if !used[k] {
			return Net{Name: name, Subnet: subnet(k)}, nil
		}
	}
	return Net{}, errors.New("every subnet of " + Range.String() + " is held by another cluster")
}

// Clash names another cluster whose hub holds n's subnet, or "".
func (n Net) Clash() string {
	k := int(n.Subnet.Addr().As4()[2])
	for other, ks := range otherHubs(n.Name) {
		if ks[k] {
			return other
		}
	}
	return ""
}

// usedSubnets are the subnets the hubs of clusters other than own hold.
func usedSubnets(own string) map[int]bool {
	used := map[int]bool{}
	for _, ks := range otherHubs(own) {
		for k := range ks {
			used[k] = true
		}
	}
	return used
}

// otherHubs reads the bridge addresses in the hubs of clusters other than
// own: hub namespace name → the subnets (third byte) they are in.
func otherHubs(own string) map[string]map[int]bool {
	hubs, _ := filepath.Glob(filepath.Join(NSDir, "herd-*-hub"))
	out := map[string]map[int]bool{}
	for _, path := range hubs {
		name := filepath.Base(path)
		if name == own+"-hub" {
			continue
		}
		out[name] = map[int]bool{}
		for _, a := range hubAddrs(name) {
			if Range.Contains(a) {
				out[name][int(a.As4()[2])] = true
			}
		}
	}
	return out
}

// onThread runs f on a new OS thread that is thrown away afterwards, so
// that f may move it into another namespace without restoring it: a
// goroutine that exits locked ends its thread.
func onThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- f()
	}()
	return <-done
}

// enter moves the calling (locked, thrown-away) thread into the named
// network namespace.
func enter(name string) error {
	h, err := vnetns.GetFromPath(filepath.Join(NSDir, name))
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", name, err)
	}
	defer h.Close()
	if err := vnetns.Set(h); err != nil {
		return fmt.Errorf("enter network namespace %s: %w", name, err)
	}
	return nil
}
