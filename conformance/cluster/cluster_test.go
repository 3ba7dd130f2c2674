// Package cluster tests herd's control plane end to end: local clusters of
// node daemons made by `herd cluster up`, driven through the herd binary
// (herd run, herd nodes, herd ps), with Raft's timeouts shortened by
// cluster up so that elections and liveness changes take about a second.
//
// Nothing here asserts a duration: every wait polls a condition until a
// generous deadline.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd/conformance"
	"herd/procview"
)

var herdBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run() // every test skips
	}
	dir, err := os.MkdirTemp("", "herd-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if herdBin, err = conformance.HerdBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cluster tests need root: node daemons create PID and mount namespaces and trace with ptrace")
	}
}

// testCluster is a local cluster of n node daemons in a temp dir.
type testCluster struct {
	t     *testing.T
	dir   string
	n     int
	netns bool // herd cluster up --netns
}

// upCluster starts n nodes, of which the first `voters` vote. Cleanup
// stops them and kills whatever is left, even if the test failed half way.
func upCluster(t *testing.T, n, voters int) *testCluster {
	t.Helper()
	return upClusterNet(t, n, voters, false)
}

// upClusterNet is upCluster, with --netns if netns.
func upClusterNet(t *testing.T, n, voters int, netns bool) *testCluster {
	t.Helper()
	c := newClusterNet(t, n, netns)
	c.up(voters)
	return c
}

// newCluster is the directory of a cluster of n nodes, not started yet;
// cleanup stops whatever runs there.
func newCluster(t *testing.T, n int) *testCluster { return newClusterNet(t, n, false) }

// newClusterNet is newCluster, with --netns if netns.
func newClusterNet(t *testing.T, n int, netns bool) *testCluster {
	t.Helper()
	needRoot(t)
	c := &testCluster{t: t, dir: t.TempDir(), n: n, netns: netns}
	// Let every user reach the sockets, as under /run/herd.
	for d := c.dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	t.Cleanup(c.destroy)
	return c
}

func (c *testCluster) up(voters int) {
	c.t.Helper()
	args := []string{"cluster", "up", "--nodes", strconv.Itoa(c.n), "--dir", c.dir, "--voters", strconv.Itoa(voters)}
	if c.netns {
		args = append(args, "--netns")
	}
	out, err := exec.Command(herdBin, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("herd cluster up: %v\n%s", err, out)
	}
	if want := "HERD_SOCKET=" + c.sock(1); !strings.Contains(string(out), want) {
		c.t.Fatalf("herd cluster up printed %q, want a line %q", out, want)
	}
}

func (c *testCluster) down() {
	c.t.Helper()
	if out, err := exec.Command(herdBin, "cluster", "down", "--dir", c.dir).CombinedOutput(); err != nil {
		c.t.Fatalf("herd cluster down: %v\n%s", err, out)
	}
	for i := 1; i <= c.n; i++ {
		if _, err := os.Stat(c.sock(i)); err == nil {
			c.t.Errorf("n%d: socket left behind after cluster down", i)
		}
	}
}

func (c *testCluster) destroy() {
	pids := c.pids()
	exec.Command(herdBin, "cluster", "down", "--dir", c.dir).Run()
	for _, pid := range pids {
		if isHerdNode(pid) {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if c.t.Failed() {
		for i := 1; i <= c.n; i++ {
			log, _ := os.ReadFile(filepath.Join(c.node(i), "node.log"))
			if len(log) > 6000 {
				log = log[len(log)-6000:]
			}
			c.t.Logf("n%d log (end):\n%s", i, log)
		}
	}
	if c.netns {
		c.removeLeftovers()
	}
}

func (c *testCluster) node(i int) string { return filepath.Join(c.dir, fmt.Sprintf("n%d", i)) }
func (c *testCluster) sock(i int) string { return filepath.Join(c.node(i), "herd.sock") }

func (c *testCluster) pid(i int) int {
	b, _ := os.ReadFile(filepath.Join(c.node(i), "herd.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (c *testCluster) pids() []int {
	var out []int
	for i := 1; i <= c.n; i++ {
		if pid := c.pid(i); pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

func (c *testCluster) addr(i int) string {
	b, _ := os.ReadFile(filepath.Join(c.node(i), "listen"))
	return strings.TrimSpace(string(b))
}

func (c *testCluster) index(id string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "n"))
	if err != nil {
		c.t.Fatalf("node id %q", id)
	}
	return i
}

// kill9 kills node i's herd node process and its daemon, as a crash would.
func (c *testCluster) kill9(i int) {
	c.t.Helper()
	pid := c.pid(i)
	if !isHerdNode(pid) {
		c.t.Fatalf("n%d (pid %d) is not running", i, pid)
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	waitFor(c.t, 10*time.Second, fmt.Sprintf("n%d to die", i), func() bool { return !isHerdNode(pid) })
}

func isHerdNode(pid int) bool {
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("\x00node\x00")) {
		return false
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// herd runs the herd binary with HERD_SOCKET=sock.
func herd(t *testing.T, sock string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, herdBin, args...)
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+sock)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	status = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("herd %v: %v", args, err)
		}
		status = ee.ExitCode()
	}
	return o.String(), e.String(), status
}

// nodeRow mirrors one element of `herd nodes --json`.
type nodeRow struct {
	ID        string      `json:"id"`
	Address   string      `json:"address"`
	Role      string      `json:"role"`
	State     string      `json:"state"`
	CPUs      int         `json:"cpus"`
	Memory    uint64      `json:"memory_bytes"`
	Load      *[3]float64 `json:"load"`
	Procs     *int        `json:"procs"`
	PIDBlocks [][2]int    `json:"pid_blocks"`
}

func (c *testCluster) nodes(via int) []nodeRow {
	c.t.Helper()
	out, errOut, st := herd(c.t, c.sock(via), "nodes", "--json")
	if st != 0 {
		c.t.Fatalf("herd nodes via n%d: status %d: %s", via, st, errOut)
	}
	var rows []nodeRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		c.t.Fatalf("herd nodes --json: %v\n%s", err, out)
	}
	return rows
}

// tryNodes is nodes that reports failure instead of failing the test.
func (c *testCluster) tryNodes(via int) ([]nodeRow, bool) {
	out, _, st := herd(c.t, c.sock(via), "nodes", "--json")
	var rows []nodeRow
	if st != 0 || json.Unmarshal([]byte(out), &rows) != nil {
		return nil, false
	}
	return rows, true
}

func (c *testCluster) ps(via int, args ...string) []procview.Row {
	c.t.Helper()
	out, errOut, st := herd(c.t, c.sock(via), append([]string{"ps", "--json"}, args...)...)
	if st != 0 {
		c.t.Fatalf("herd ps via n%d: status %d: %s", via, st, errOut)
	}
	var procs []procview.Row
	if err := json.Unmarshal([]byte(out), &procs); err != nil {
		c.t.Fatalf("herd ps --json: %v\n%s", err, out)
	}
	return procs
}

// leader returns the leader's id as node via sees it, or "".
func leaderOf(rows []nodeRow) string {
	for _, r := range rows {
		if r.Role == "leader" {
			return r.ID
		}
	}
	return ""
}

func leases(rows []nodeRow) map[string][][2]int {
	m := map[string][][2]int{}
	for _, r := range rows {
		m[r.ID] = r.PIDBlocks
	}
	return m
}

// inBlocks reports whether pid lies in one of blocks.
func inBlocks(pid int, blocks [][2]int) bool {
	for _, b := range blocks {
		if pid >= b[0] && pid < b[1] {
			return true
		}
	}
	return false
}

// checkDisjoint fails if two nodes hold overlapping PID blocks.
func checkDisjoint(t *testing.T, ls map[string][][2]int) {
	t.Helper()
	type owned struct {
		b    [2]int
		node string
	}
	var all []owned
	for n, bs := range ls {
		for _, b := range bs {
			all = append(all, owned{b, n})
		}
	}
	slices.SortFunc(all, func(a, b owned) int { return a.b[0] - b.b[0] })
	for i := 1; i < len(all); i++ {
		if all[i].b[0] < all[i-1].b[1] {
			t.Errorf("PID blocks overlap: %v of %s and %v of %s", all[i-1].b, all[i-1].node, all[i].b, all[i].node)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startBackground runs `herd run -- args` through node i's socket and
// kills it (and what it started) at cleanup. It returns the program's PID,
// which the program prints first.
func (c *testCluster) startBackground(i int, args ...string) int {
	c.t.Helper()
	cmd := exec.Command(herdBin, append([]string{"run", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(i))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := out.Read(b)
		if n == 1 && b[0] == '\n' {
			break
		}
		if n == 1 {
			line = append(line, b[0])
		}
		if err != nil {
			c.t.Fatalf("herd run via n%d: no PID printed (%v)", i, err)
		}
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil {
		c.t.Fatalf("herd run via n%d printed %q", i, line)
	}
	return pid
}

// pidOf runs `sh -c 'echo $$'` through node i and returns the PID.
func (c *testCluster) pidOf(i int) int {
	c.t.Helper()
	out, errOut, st := herd(c.t, c.sock(i), "run", "--", "/bin/sh", "-c", "echo $$")
	if st != 0 {
		c.t.Fatalf("herd run via n%d: status %d: %s", i, st, errOut)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		c.t.Fatalf("herd run via n%d printed %q", i, out)
	}
	return pid
}

// eval "$(herd cluster up ...)" sets HERD_SOCKET for the commands after
// it: cluster up prints one export line on stdout, and the rest on
// stderr.
func TestClusterUpEval(t *testing.T) {
	needRoot(t)
	c := &testCluster{t: t, dir: t.TempDir(), n: 1}
	t.Cleanup(c.destroy)
	script := `out=$("$HERD" cluster up --nodes 1 --dir "$DIR") || exit 1
printf '%s\n' "$out" >"$DIR/up.out"
eval "$out"
exec "$HERD" nodes --json`
	cmd := exec.Command("/bin/sh", "-c", script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERD_SOCKET=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HERD="+herdBin, "DIR="+c.dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("eval \"$(herd cluster up)\"; herd nodes: %v\n%s", err, out)
	}
	up, _ := os.ReadFile(filepath.Join(c.dir, "up.out"))
	if want := "export HERD_SOCKET=" + c.sock(1) + "\n"; string(up) != want {
		t.Errorf("herd cluster up printed %q on stdout, want only %q", up, want)
	}
	var rows []nodeRow
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 || rows[0].Address != c.addr(1) {
		t.Errorf("herd nodes after eval: %v %s; want this cluster's n1 at %s", err, out, c.addr(1))
	}
}
