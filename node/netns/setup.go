package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Create makes the cluster's network for nodes 1..nodes: it first removes
// what a previous cluster of the same name left (a cluster killed with
// SIGKILL leaves its namespaces), then makes the hub with its bridge and,
// per node, a namespace with loopback up and a veth pair from its eth0
// (Addr(i)/24) to the bridge. On an error it removes what it made.
func (n Net) Create(nodes int) error {
	if err := n.Check(nodes); err != nil {
		return err
	}
	if err := n.Remove(); err != nil {
		return err
	}
	err := n.create(nodes)
	if err != nil {
		n.Remove()
	}
	return err
}

func (n Net) create(nodes int) error {
	if err := newNamed(n.Hub()); err != nil {
		return err
	}
	hub, err := handleAt(n.Hub())
	if err != nil {
		return err
	}
	defer hub.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: HubBridge}}
	if err := hub.LinkAdd(br); err != nil {
		return fmt.Errorf("add bridge in %s: %w", n.Hub(), err)
	}
	if err := upWithAddr(hub, br, n.HubAddr()); err != nil {
		return fmt.Errorf("%s: %w", n.Hub(), err)
	}
	for i := 1; i <= nodes; i++ {
		if err := n.addNode(hub, br, i); err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
	}
	return nil
}

// addNode makes node i's namespace and joins it to the bridge.
func (n Net) addNode(hub *netlink.Handle, br netlink.Link, i int) error {
	if err := newNamed(n.Node(i)); err != nil {
		return err
	}
	ns, err := vnetns.GetFromPath(filepath.Join(NSDir, n.Node(i)))
	if err != nil {
		return err
	}
	defer ns.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: n.HubLink(i), MasterIndex: br.Attrs().Index},
		PeerName:      NodeLink,
		PeerNamespace: netlink.NsFd(ns),
	}
	if err := hub.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s: %w", n.HubLink(i), err)
	}
	if err := hub.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set %s up: %w", n.HubLink(i), err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("loopback of %s: %w", n.Node(i), err)
	}
	eth, err := h.LinkByName(NodeLink)
	if err != nil {
		return err
	}
	return upWithAddr(h, eth, n.Addr(i))
}

// upWithAddr gives link the address a in its /24 and sets it up.
func upWithAddr(h *netlink.Handle, link netlink.Link, a netip.Addr) error {
	ipn := &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(24, 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("address %v on %s: %w", a, link.Attrs().Name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", link.Attrs().Name, err)
	}
	return nil
}

// Remove deletes every namespace of the cluster (the hub's and every
// node's, however many there were); the links in them go with them.
// Namespaces still in use by a process live on unnamed until it exits.
func (n Net) Remove() error {
	if n.Name == "" {
		return errors.New("no cluster network name")
	}
	names, err := n.Namespaces()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, deleteNamed(name))
	}
	return errors.Join(errs...)
}

// Namespaces lists the named namespaces of the cluster that exist.
func (n Net) Namespaces() ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(NSDir, n.Name+"-*"))
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names, err
}

// Start starts cmd in node i's network namespace (its other namespaces
// are the caller's).
func (n Net) Start(i int, cmd *exec.Cmd) error {
	return onThread(func() error {
		if err := enter(n.Node(i)); err != nil {
			return err
		}
		// The child is forked from this thread and inherits its namespace.
		return cmd.Start()
	})
}

// SetLink sets the hub's end of node i's veth pair up or down: down cuts
// node i off the others, as `ip -n HUB link set n<i> down` does.
func (n Net) SetLink(i int, up bool) error {
	h, err := handleAt(n.Hub())
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(n.HubLink(i))
	if err != nil {
		return err
	}
	if up {
		return h.LinkSetUp(link)
	}
	return h.LinkSetDown(link)
}

// newNamed makes a network namespace and bind-mounts it at NSDir/name.
func newNamed(name string) error {
	if err := os.MkdirAll(NSDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(NSDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("name network namespace: %w", err)
	}
	f.Close()
	err = onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("new network namespace: %w", err)
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind network namespace to %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		os.Remove(path)
	}
	return err
}

// deleteNamed unmounts and removes NSDir/name.
func deleteNamed(name string) error {
	path := filepath.Join(NSDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// handleAt is a netlink handle in the named namespace.
func handleAt(name string) (*netlink.Handle, error) {
	ns, err := vnetns.GetFromPath(filepath.Join(NSDir, name))
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", name, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// hubAddrs are the IPv4 addresses of the bridge in the named hub.
func hubAddrs(hubName string) []netip.Addr {
	h, err := handleAt(hubName)
	if err != nil {
		return nil
	}
	defer h.Close()
	br, err := h.LinkByName(HubBridge)
	if err != nil {
		return nil
	}
	addrs, err := h.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			out = append(out, ip)
		}
	}
	return out
}
