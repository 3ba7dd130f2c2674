package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"herd/launch"
	"herd/node"
	"herd/node/netns"
)

// A local cluster made by herd cluster up lives in DIR: node i's data
// directory is DIR/n<i>, and in it the files below.
const (
	clusterPIDFile    = "herd.pid"  // the herd node process
	clusterListenFile = "listen"    // its cluster port, kept across restarts
	clusterSockFile   = "herd.sock" // its launcher socket
	clusterLogFile    = "node.log"  // its stdout and stderr
)

// clusterUpTimeout bounds herd cluster up's wait for every node.
const clusterUpTimeout = 90 * time.Second

func clusterCommand() *cli.Command {
	return &cli.Command{
		Name:  "cluster",
		Usage: "start or stop a cluster of local node daemons (for tests, benchmarks, trying herd)",
		Subcommands: []*cli.Command{
			{
				Name:  "up",
				Usage: "start N node daemons on 127.0.0.1, or each in a network namespace of its own, in the background",
				Description: "Starts node n1 with --bootstrap and n2..nN with --join, each in DIR/n<i>, and\n" +
					"waits until all are members. Prints `export HERD_SOCKET=...` for herd run, ps\n" +
					"and nodes, so that eval \"$(herd cluster up ...)\" sets it (progress goes to\n" +
					"stderr). Run again on the same DIR after herd cluster down to restart the\n" +
					"same nodes.\n\n" +
					"With --netns each node runs in a network namespace of its own (DIR's hash\n" +
					"names them: ip netns lists herd-<hash>-n<i> and herd-<hash>-hub), with an\n" +
					"address of a /24 of 10.77.0.0/16 that no other cluster's hub holds, on a veth\n" +
					"pair to a bridge in the hub namespace; node traffic crosses those links. DIR\n" +
					"remembers the network: a restart keeps the addresses, and a DIR once used\n" +
					"with --netns stays so. DIR/n<i>/link holds \"HUB LINK\": `ip -n HUB link set\n" +
					"LINK down` cuts node i off the others, `up` brings it back.",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "nodes", Usage: "how many nodes", Value: 3},
					&cli.StringFlag{Name: "dir", Usage: "where the nodes keep their state", Required: true},
					&cli.IntFlag{Name: "base-port", Usage: "cluster port of n1; n<i> gets base+i-1 (default: free ports; with --netns, every node's port, default 7700)"},
					&cli.BoolFlag{Name: "netns", Usage: "each node in a network namespace of its own, joined by veth pairs"},
					&cli.IntFlag{Name: "voters", Usage: "how many nodes vote in Raft", Value: 3},
					&cli.DurationFlag{Name: "election-timeout", Usage: "the nodes' --election-timeout", Value: 500 * time.Millisecond},
					&cli.DurationFlag{Name: "suspect-after", Usage: "the nodes' --suspect-after", Value: time.Second},
					&cli.DurationFlag{Name: "down-after", Usage: "the nodes' --down-after", Value: 3 * time.Second},
					&cli.BoolFlag{Name: "split", Usage: "divide this host's CPUs and memory among the nodes (each gets --cpus and --memory)"},
					&cli.StringFlag{Name: "log-level", Usage: "the nodes' --log-level (debug, info, warn or error)", Value: "info"},
				},
				Action: clusterUp,
			},
			{
				Name:   "down",
				Usage:  "stop the node daemons of herd cluster up (SIGTERM, then SIGKILL after a grace period) and remove their network namespaces",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "dir", Usage: "the --dir of herd cluster up", Required: true}},
				Action: clusterDown,
			},
		},
	}
}

// localCluster is the cluster of herd cluster up in dir.
type localCluster struct {
	dir      string
	n        int
	exe      string
	addrs    []string   // addrs[i] is n<i>'s cluster port
	common   []string   // flags every node gets
	net      *netns.Net // the --netns network, nil on loopback
	own      [][]string // own[i]: flags only n<i> gets (--split's share)
	deadline time.Time
}

func (lc *localCluster) nodeDir(i int) string { return filepath.Join(lc.dir, fmt.Sprintf("n%d", i)) }

func (lc *localCluster) sock(i int) string { return filepath.Join(lc.nodeDir(i), clusterSockFile) }

func clusterUp(c *cli.Context) error {
	lc, err := newLocalCluster(c)
	if err != nil {
		return err
	}
	if err := lc.up(); err != nil {
		stopNodes(lc.dir, 5*time.Second)
		removeNet(lc.dir)
		return err
	}
	fmt.Fprintf(os.Stderr, "herd cluster up: %d nodes in %s, %s\n", lc.n, lc.dir, lc.netSummary())
	// For eval "$(herd cluster up ...)": the only line on stdout.
	fmt.Printf("export HERD_SOCKET=%s\n", shellQuote(lc.sock(1)))
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:@%=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// newLocalCluster checks the flags and that no node of the cluster runs,
// makes the --netns network and picks the cluster ports.
func newLocalCluster(c *cli.Context) (*localCluster, error) {
	n := c.Int("nodes")
	if n < 1 || n > 64 {
		return nil, cli.Exit("herd cluster up: --nodes wants 1 to 64", 2)
	}
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	lc := &localCluster{dir: dir, n: n, exe: exe, addrs: make([]string, n+1),
		deadline: time.Now().Add(clusterUpTimeout)}
	for i := 1; i <= n; i++ {
		if pid, ok := nodeRunning(lc.nodeDir(i)); ok {
			return nil, cli.Exit(fmt.Sprintf("herd cluster up: n%d is running already (pid %d): herd cluster down --dir %s", i, pid, dir), 1)
		}
	}
	if err := lc.setupNet(c.Bool("netns")); err != nil {
		return nil, err
	}
	for i := 1; i <= n; i++ {
		if lc.addrs[i], err = lc.clusterAddr(i, c.Int("base-port")); err != nil {
			return nil, err
		}
	}
	lc.common = []string{
		"--voters", strconv.Itoa(c.Int("voters")),
		"--election-timeout", c.Duration("election-timeout").String(),
		"--suspect-after", c.Duration("suspect-after").String(),
		"--down-after", c.Duration("down-after").String(),
		"--log-level", c.String("log-level"),
	}
	lc.own = make([][]string, n+1)
	if c.Bool("split") {
		parts, err := node.SplitHost(n)
		if err != nil {
			return nil, cli.Exit("herd cluster up: --split: "+err.Error(), 2)
		}
		for i, p := range parts {
			lc.own[i+1] = p.Flags()
		}
	}
	return lc, nil
}

// up starts the nodes and waits until every one is a member.
func (lc *localCluster) up() error {
	// Nodes that were members before restart together: a Raft cluster
	// needs a quorum of its voters before any of them can serve.
	fresh := 0
	for i := 1; i <= lc.n; i++ {
		if _, err := os.Stat(filepath.Join(lc.nodeDir(i), node.TLSDir)); err != nil {
			if fresh == 0 {
				fresh = i
			}
			continue
		}
		if err := lc.start(i, lc.common); err != nil {
			return err
		}
	}
	if fresh == 1 {
		if err := lc.start(1, append([]string{"--bootstrap"}, lc.common...)); err != nil {
			return err
		}
		fresh = 2
	}
	if fresh > 0 {
		if err := lc.startJoiners(fresh); err != nil {
			return err
		}
	}
	return lc.waitMembers()
}

// startJoiners starts the new nodes from the first on, joining through
// n1 with the token n1 wrote.
func (lc *localCluster) startJoiners(first int) error {
	tokenFile := filepath.Join(lc.nodeDir(1), node.TokenFile)
	for {
		_, err := os.Stat(tokenFile)
		if err == nil && nodeAnswers(lc.sock(1)) {
			break
		}
		if err := lc.checkStarted(1); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	join := append([]string{"--join", lc.addrs[1], "--token-file", tokenFile}, lc.common...)
	for i := first; i <= lc.n; i++ {
		if err := lc.start(i, join); err != nil {
			return err
		}
	}
	return nil
}

// waitMembers waits until every node answers and the first sees them
// all as members.
func (lc *localCluster) waitMembers() error {
	for i := 1; i <= lc.n; i++ {
		for !nodeAnswers(lc.sock(i)) {
			if err := lc.checkStarted(i); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for {
		m, err := launch.QueryPath(lc.sock(1), launch.Msg{Op: launch.OpNodes})
		if err == nil && len(m.Nodes) == lc.n {
			return nil
		}
		if time.Now().After(lc.deadline) {
			return fmt.Errorf("herd cluster up: the nodes did not all become members within %v", clusterUpTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterAddr is node i's cluster port: the one it had before, else its
// --netns address, else base+i-1, else a free port.
func (lc *localCluster) clusterAddr(i, base int) (string, error) {
	if b, err := os.ReadFile(filepath.Join(lc.nodeDir(i), clusterListenFile)); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if lc.net != nil {
		return lc.netAddr(i, base), nil
	}
	if base > 0 {
		return fmt.Sprintf("127.0.0.1:%d", base+i-1), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
