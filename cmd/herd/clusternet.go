package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"herd/node/netns"
)

// herd cluster up --netns: each node in a network namespace of its own,
// joined to the others by a veth pair to the bridge of a hub namespace
// (package node/netns). DIR remembers the network, so that the cluster
// restarts on the same addresses and herd cluster down finds what to
// remove; every node's directory says which link cuts it off.
const (
	clusterNetFile  = "netns" // in DIR: the network's namespace prefix and subnet
	clusterLinkFile = "link"  // in DIR/n<i>: "HUB-NAMESPACE LINK", for ip -n HUB link set LINK down
	// netnsPort is every node's cluster port when --base-port is not
	// given: each node has an address of its own.
	netnsPort = 7700
)

// netFile is DIR/netns.
type netFile struct {
	Name   string       `json:"name"`
	Subnet netip.Prefix `json:"subnet"`
}

// loadNet reads DIR/netns: nil if the cluster in dir is not a --netns one.
func loadNet(dir string) (*netns.Net, error) {
	b, err := os.ReadFile(filepath.Join(dir, clusterNetFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f netFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, clusterNetFile), err)
	}
	return &netns.Net{Name: f.Name, Subnet: f.Subnet}, nil
}

func writeNet(dir string, nt *netns.Net) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(netFile{Name: nt.Name, Subnet: nt.Subnet})
	return os.WriteFile(filepath.Join(dir, clusterNetFile), append(b, '\n'), 0o644)
}

// setupNet makes the network of a --netns cluster (want, or a DIR that
// had one before), after removing what a killed cluster of the same DIR
// left: a new cluster takes a subnet no other cluster's hub holds; a
// restarted one keeps its own, so its nodes keep their addresses.
func (lc *localCluster) setupNet(want bool) error {
	nt, err := loadNet(lc.dir)
	if err != nil || (nt == nil && !want) {
		return err
	}
	if nt == nil {
		if listens, _ := filepath.Glob(filepath.Join(lc.dir, "n*", clusterListenFile)); len(listens) > 0 {
			return cli.Exit(fmt.Sprintf("herd cluster up: the nodes in %s listen on the host's loopback: --netns needs a new --dir", lc.dir), 2)
		}
	}
	unlock, err := netns.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if nt == nil {
		chosen, err := netns.Choose(netns.NameFor(lc.dir))
		if err != nil {
			return err
		}
		nt = &chosen
		if err := writeNet(lc.dir, nt); err != nil {
			return err
		}
	} else if other := nt.Clash(); other != "" {
		// Harmless (every hub is a network of its own), but the two
		// clusters' addresses look alike.
		fmt.Fprintf(os.Stderr, "herd cluster up: warning: %s holds this cluster's subnet %v too\n", other, nt.Subnet)
	}
	if err := nt.Create(lc.n); err != nil {
		return fmt.Errorf("herd cluster up: make the network: %w", err)
	}
	lc.net = nt
	return nil
}

// netAddr is node i's cluster port in a --netns cluster.
func (lc *localCluster) netAddr(i, base int) string {
	port := netnsPort
	if base > 0 {
		port = base
	}
	return netip.AddrPortFrom(lc.net.Addr(i), uint16(port)).String()
}

// writeLink writes DIR/n<i>/link: the hub namespace and the hub's end of
// node i's veth pair.
func (lc *localCluster) writeLink(i int) error {
	line := lc.net.Hub() + " " + lc.net.HubLink(i) + "\n"
	return os.WriteFile(filepath.Join(lc.nodeDir(i), clusterLinkFile), []byte(line), 0o644)
}

// removeNet removes the network of the --netns cluster in dir, if it is
// one: its namespaces, and with them every link and the bridge.
func removeNet(dir string) error {
	nt, err := loadNet(dir)
	if err != nil || nt == nil {
		return err
	}
	if err := nt.Remove(); err != nil {
		return fmt.Errorf("herd cluster down: remove the network %s-*: %w", nt.Name, err)
	}
	return nil
}

// netSummary is what herd cluster up says about the network.
func (lc *localCluster) netSummary() string {
	if lc.net == nil {
		return "on 127.0.0.1"
	}
	return fmt.Sprintf("in network namespaces %s..n%d on %v (hub %s)", lc.net.Node(1), lc.n, lc.net.Subnet, lc.net.Hub())
}
