package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
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
				Usage: "start N node daemons on 127.0.0.1 in the background",
				Description: "Starts node n1 with --bootstrap and n2..nN with --join, each in DIR/n<i>, and\n" +
					"waits until all are members. Prints HERD_SOCKET=... for herd run, ps and nodes.\n" +
					"Run again on the same DIR after herd cluster down to restart the same nodes.",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "nodes", Usage: "how many nodes", Value: 3},
					&cli.StringFlag{Name: "dir", Usage: "where the nodes keep their state", Required: true},
					&cli.IntFlag{Name: "base-port", Usage: "cluster port of n1; n<i> gets base+i-1 (default: free ports)"},
					&cli.IntFlag{Name: "voters", Usage: "how many nodes vote in Raft", Value: 3},
					&cli.DurationFlag{Name: "election-timeout", Value: 500 * time.Millisecond, Hidden: true},
					&cli.DurationFlag{Name: "suspect-after", Value: time.Second, Hidden: true},
					&cli.DurationFlag{Name: "down-after", Value: 3 * time.Second, Hidden: true},
				},
				Action: clusterUp,
			},
			{
				Name:   "down",
				Usage:  "stop the node daemons of herd cluster up (SIGTERM, then SIGKILL after a grace period)",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "dir", Required: true}},
				Action: clusterDown,
			},
		},
	}
}

func nodeDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("n%d", i)) }

func clusterUp(c *cli.Context) error {
	n := c.Int("nodes")
	if n < 1 || n > 64 {
		return cli.Exit("herd cluster up: --nodes wants 1 to 64", 2)
	}
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		if pid, ok := nodeRunning(nodeDir(dir, i)); ok {
			return cli.Exit(fmt.Sprintf("herd cluster up: n%d is running already (pid %d): herd cluster down --dir %s", i, pid, dir), 1)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	addrs := make([]string, n+1)
	for i := 1; i <= n; i++ {
		if addrs[i], err = clusterAddr(nodeDir(dir, i), c.Int("base-port"), i); err != nil {
			return err
		}
	}
	common := []string{
		"--voters", strconv.Itoa(c.Int("voters")),
		"--election-timeout", c.Duration("election-timeout").String(),
		"--suspect-after", c.Duration("suspect-after").String(),
		"--down-after", c.Duration("down-after").String(),
	}
	fail := func(err error) error {
		stopNodes(dir, 5*time.Second)
		return err
	}
	deadline := time.Now().Add(clusterUpTimeout)
	// Nodes that were members before restart together: a Raft cluster
	// needs a quorum of its voters before any of them can serve.
	fresh := 0
	for i := 1; i <= n; i++ {
		if _, err := os.Stat(filepath.Join(nodeDir(dir, i), tlsDir)); err != nil {
			if fresh == 0 {
				fresh = i
			}
			continue
		}
		if err := startNode(exe, dir, i, addrs[i], common); err != nil {
			return fail(err)
		}
	}
	if fresh == 1 {
		if err := startNode(exe, dir, 1, addrs[1], append([]string{"--bootstrap"}, common...)); err != nil {
			return fail(err)
		}
		fresh = 2
	}
	if fresh > 0 {
		var token []byte
		for {
			token, err = os.ReadFile(filepath.Join(nodeDir(dir, 1), tokenFile))
			if err == nil && nodeAnswers(nodeDir(dir, 1)) {
				break
			}
			if err := checkStarted(dir, 1, deadline); err != nil {
				return fail(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		join := append([]string{"--join", addrs[1], "--token", strings.TrimSpace(string(token))}, common...)
		for i := fresh; i <= n; i++ {
			if err := startNode(exe, dir, i, addrs[i], join); err != nil {
				return fail(err)
			}
		}
	}
	for i := 1; i <= n; i++ {
		for !nodeAnswers(nodeDir(dir, i)) {
			if err := checkStarted(dir, i, deadline); err != nil {
				return fail(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Every node answers; wait until the first one sees all as members.
	sock := filepath.Join(nodeDir(dir, 1), clusterSockFile)
	for {
		m, err := rawQuery(sock, ctlMsg{Op: "nodes"})
		if err == nil && len(m.Nodes) == n {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("herd cluster up: the nodes did not all become members within %v", clusterUpTimeout))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "herd cluster up: %d nodes in %s\n", n, dir)
	fmt.Printf("HERD_SOCKET=%s\n", sock)
	return nil
}

// clusterAddr is node i's cluster port: the one it had before, else
// base+i-1, else a free port.
func clusterAddr(ndir string, base, i int) (string, error) {
	if b, err := os.ReadFile(filepath.Join(ndir, clusterListenFile)); err == nil {
		return strings.TrimSpace(string(b)), nil
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

// startNode starts herd node for n<i> in the background: its own session,
// stdio to its log.
func startNode(exe, dir string, i int, addr string, extra []string) error {
	ndir := nodeDir(dir, i)
	// World-searchable so that every user reaches the socket; the
	// secrets below it are in 0700 directories and 0600 files.
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(ndir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ndir, clusterListenFile), []byte(addr+"\n"), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(ndir, clusterLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := append([]string{"herd", "node", "--data-dir", ndir, "--listen", addr, "--name", fmt.Sprintf("n%d", i),
		"--socket", filepath.Join(ndir, clusterSockFile)}, extra...)
	cmd := &exec.Cmd{Path: exe, Args: args, Stdout: logf, Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start n%d: %w", i, err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return os.WriteFile(filepath.Join(ndir, clusterPIDFile), []byte(strconv.Itoa(pid)+"\n"), 0o600)
}

// checkStarted fails if node i has died or the deadline has passed,
// quoting the end of its log.
func checkStarted(dir string, i int, deadline time.Time) error {
	ndir := nodeDir(dir, i)
	// Not nodeRunning: right after the fork the child's command line is
	// still ours. It is our child, so its pid cannot have been recycled.
	b, _ := os.ReadFile(filepath.Join(ndir, clusterPIDFile))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	alive := pid > 0 && processAlive(pid)
	if alive && time.Now().Before(deadline) {
		return nil
	}
	why := "did not start in time"
	if !alive {
		why = "exited"
	}
	log, _ := os.ReadFile(filepath.Join(ndir, clusterLogFile))
	if len(log) > 2000 {
		log = log[len(log)-2000:]
	}
	return fmt.Errorf("herd cluster up: n%d %s; the end of %s:\n%s", i, why, filepath.Join(ndir, clusterLogFile), bytes.TrimSpace(log))
}

func nodeAnswers(ndir string) bool {
	fd, err := dialSocket(filepath.Join(ndir, clusterSockFile))
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// nodeRunning reads n<i>'s pid file and checks that the process is a live
// herd node (not a zombie, not a recycled pid).
func nodeRunning(ndir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(ndir, clusterPIDFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, isLiveNode(pid)
}

func isLiveNode(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("\x00node\x00")) {
		return false
	}
	return processAlive(pid)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

func clusterDown(c *cli.Context) error {
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return err
	}
	return stopNodes(dir, 20*time.Second)
}

// stopNodes sends SIGTERM to every node of dir, waits up to grace for them
// to exit, then kills what is left (the whole process group: the herd node
// process and its daemon).
func stopNodes(dir string, grace time.Duration) error {
	ndirs, _ := filepath.Glob(filepath.Join(dir, "n*"))
	var pids []int
	for _, nd := range ndirs {
		if pid, ok := nodeRunning(nd); ok {
			unix.Kill(pid, unix.SIGTERM)
			pids = append(pids, pid)
		}
	}
	deadline := time.Now().Add(grace)
	var stuck []int
	for _, pid := range pids {
		for isLiveNode(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if isLiveNode(pid) {
			unix.Kill(-pid, unix.SIGKILL)
			stuck = append(stuck, pid)
		}
	}
	for _, nd := range ndirs {
		os.Remove(filepath.Join(nd, clusterPIDFile))
		os.Remove(filepath.Join(nd, clusterSockFile))
	}
	if len(stuck) > 0 {
		return fmt.Errorf("herd cluster down: killed %v after %v without exiting", stuck, grace)
	}
	return nil
}

// rawQuery is query without a cli.Context.
func rawQuery(sock string, req ctlMsg) (ctlMsg, error) {
	fd, err := dialSocket(sock)
	if err != nil {
		return ctlMsg{}, err
	}
	defer unix.Close(fd)
	if err := sendMsg(fd, req); err != nil {
		return ctlMsg{}, err
	}
	m, files, err := recvMsg(fd)
	closeAll(files)
	if err != nil {
		return ctlMsg{}, err
	}
	if m.Op == "error" {
		return ctlMsg{}, errors.New(m.Error)
	}
	return m, nil
}
