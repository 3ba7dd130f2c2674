// Command cluster measures herd's control plane and prints one table:
//
//   - forks per second on one node whose PIDs are leased through Raft (a
//     one-node daemon) against a pre-filled in-process pool (herd run's
//     embedded node), for a fork/wait loop and for a burst of live children
//     that forces leases while it runs: Raft is off the fork path if the
//     two are the same within noise;
//
//   - Raft apply latency, p50 and p99, on a three-node cluster over the
//     mutual-TLS cluster port on loopback: at the leader, and forwarded
//     from a follower as the daemons' PID leases are;
//
//   - herd ps latency with 1, 3, 8 and 16 local nodes and 1,000 processes
//     spread over them.
//
//     make bench-cluster     # also writes docs/benchmarks-cluster.md
//     HERD_BIN=bin/herd go run ./conformance/bench/cluster [-nodes 1,3,8,16] [-procs 1000] [-markdown FILE]
//
// It needs root (node daemons and herd run do) and gcc. Benchmarks are not
// tests: nothing here fails on a slow result.
package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"herd/raftstate"
	"herd/remote"
)

//go:embed c/forks.c
var forksSource string

func main() {
	var (
		herd     = flag.String("herd", os.Getenv("HERD_BIN"), "the herd binary (default $HERD_BIN)")
		reps     = flag.Int("reps", 7, "runs of each fork measurement (medians are shown; 0 skips)")
		loopN    = flag.Int("fork-loop", 1000, "forks per fork/wait loop run")
		burstN   = flag.Int("fork-burst", 3000, "live children per burst run (about three PID blocks)")
		applies  = flag.Int("applies", 500, "Raft applies measured, at the leader and forwarded (0 skips)")
		nodes    = flag.String("nodes", "1,3,8,16", "cluster sizes for the herd ps measurement (empty skips)")
		procs    = flag.Int("procs", 1000, "processes running during the herd ps measurement")
		psReps   = flag.Int("ps-reps", 7, "herd ps runs per cluster size")
		markdown = flag.String("markdown", "", "also write the table as Markdown to `FILE` (- for stdout)")
	)
	flag.Parse()
	if *herd == "" {
		fail(fmt.Errorf("no herd binary: set HERD_BIN or -herd (make bench-cluster does)"))
	}
	if os.Geteuid() != 0 {
		fail(fmt.Errorf("needs root: node daemons and herd run create namespaces and trace"))
	}
	work, err := os.MkdirTemp("", "herd-bench-cluster-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755)

	var rows []row
	add := func(r ...row) {
		for _, x := range r {
			fmt.Fprintf(os.Stderr, "  %-58s %s\n", x.what, x.value)
		}
		rows = append(rows, r...)
	}
	if *reps > 0 {
		fmt.Fprintln(os.Stderr, "forks per second, one node:")
		r, err := forkRates(*herd, work, *reps, *loopN, *burstN)
		if err != nil {
			fail(err)
		}
		add(r...)
	}
	if *applies > 0 {
		fmt.Fprintln(os.Stderr, "Raft apply latency, 3 nodes:")
		r, err := applyLatency(work, *applies)
		if err != nil {
			fail(err)
		}
		add(r...)
	}
	for _, f := range strings.FieldsFunc(*nodes, func(r rune) bool { return r == ',' }) {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-nodes: bad size %q", f))
		}
		r, err := psLatency(*herd, work, n, *procs, *psReps)
		if err != nil {
			fail(err)
		}
		add(r...)
	}
	table := render(rows, *herd)
	fmt.Print(table)
	switch *markdown {
	case "":
	case "-":
		fmt.Print(table)
	default:
		if err := os.WriteFile(*markdown, []byte(table), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "bench-cluster: %v\n", err)
	os.Exit(1)
}

type row struct{ what, value string }

func render(rows []row, herd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Control plane (make bench-cluster, %s, %d CPUs)\n\n", time.Now().UTC().Format("2006-01-02"), numCPU())
	fmt.Fprintf(&b, "| measure | result |\n| --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r.what, r.value)
	}
	return b.String()
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

// herdCmd runs herd with HERD_SOCKET=sock ("" for none: the embedded node).
func herdCmd(herd, sock string, args ...string) *exec.Cmd {
	cmd := exec.Command(herd, args...)
	if sock == "" {
		sock = "/nonexistent/herd.sock"
	}
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+sock)
	return cmd
}

// clusterUp starts n local nodes in dir and returns n1's socket.
func clusterUp(herd, dir string, n int) (string, error) {
	out, err := exec.Command(herd, "cluster", "up", "--nodes", strconv.Itoa(n), "--dir", dir).CombinedOutput()
	if err != nil {
		exec.Command(herd, "cluster", "down", "--dir", dir).Run()
		return "", fmt.Errorf("herd cluster up --nodes %d: %v\n%s", n, err, out)
	}
	os.Chmod(dir, 0o755)
	return filepath.Join(dir, "n1", "herd.sock"), nil
}

func clusterDown(herd, dir string) {
	if out, err := exec.Command(herd, "cluster", "down", "--dir", dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "herd cluster down: %v\n%s", err, out)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// forkRates compares fork rates on a Raft-leasing daemon and on the
// embedded node's in-process pool, runs interleaved.
func forkRates(herd, work string, reps, loopN, burstN int) ([]row, error) {
	src := filepath.Join(work, "forks.c")
	bin := filepath.Join(work, "forks")
	if err := os.WriteFile(src, []byte(forksSource), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command("gcc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gcc forks.c: %v\n%s", err, out)
	}
	dir := filepath.Join(work, "forks-cluster")
	sock, err := clusterUp(herd, dir, 1)
	if err != nil {
		return nil, err
	}
	defer clusterDown(herd, dir)
	rate := func(sock, mode string, n int) (float64, error) {
		out, err := herdCmd(herd, sock, "run", "--", bin, mode, strconv.Itoa(n)).Output()
		if err != nil {
			return 0, fmt.Errorf("herd run forks %s %d: %v", mode, n, err)
		}
		return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	}
	var rows []row
	for _, m := range []struct {
		mode string
		n    int
	}{{"loop", loopN}, {"burst", burstN}} {
		var raft, pool []float64
		for range reps {
			r, err := rate(sock, m.mode, m.n)
			if err != nil {
				return nil, err
			}
			p, err := rate("", m.mode, m.n)
			if err != nil {
				return nil, err
			}
			raft, pool = append(raft, r), append(pool, p)
		}
		what := fmt.Sprintf("fork+exit+wait loop (%d)", m.n)
		if m.mode == "burst" {
			what = fmt.Sprintf("burst of %d live children, then reap", m.n)
		}
		rows = append(rows,
			row{what + ": pre-filled pool (embedded node)", fmt.Sprintf("%.0f forks/s", median(pool))},
			row{what + ": Raft-leased (1-node daemon)", fmt.Sprintf("%.0f forks/s (%.2f× the pool; runs: %s vs %s)",
				median(raft), median(raft)/median(pool), spread(raft), spread(pool))})
	}
	return rows, nil
}

func spread(xs []float64) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	return fmt.Sprintf("%.0f–%.0f", s[0], s[len(s)-1])
}

// applyLatency runs a three-node Raft cluster in this process over the
// real cluster port (remote's TLS listener and stream layer), as the
// daemons do, and times no-op commits.
func applyLatency(work string, n int) ([]row, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ca, err := remote.NewCA()
	if err != nil {
		return nil, err
	}
	type node struct {
		store *raftstate.Store
		lis   *remote.Listener
		rpc   *remote.Server
		pool  *remote.Pool
	}
	var nodes []*node
	defer func() {
		for _, nd := range nodes {
			nd.store.Shutdown()
			nd.rpc.Close()
			nd.pool.Close()
			nd.lis.Close()
		}
	}()
	for i := range 3 {
		id := fmt.Sprintf("b%d", i)
		creds, err := ca.Issue(id, []string{"127.0.0.1"})
		if err != nil {
			return nil, err
		}
		lis, err := remote.Listen("127.0.0.1:0", remote.ListenerConfig{Credentials: creds, Logger: quiet})
		if err != nil {
			return nil, err
		}
		st, err := raftstate.Open(raftstate.Config{NodeID: id, DataDir: filepath.Join(work, "raft-"+id),
			StreamLayer: lis.Raft(), Logger: quiet})
		if err != nil {
			lis.Close()
			return nil, err
		}
		nd := &node{store: st, lis: lis, rpc: remote.NewServer(quiet), pool: remote.NewPool(creds)}
		nd.rpc.Handle(remote.MsgForward, func(ctx context.Context, req *remote.Request) (any, error) {
			var fr raftstate.ForwardRequest
			if err := req.Decode(&fr); err != nil {
				return nil, err
			}
			return st.ServeForwarded(ctx, req.Peer, &fr), nil
		})
		go nd.rpc.Serve(lis)
		nodes = append(nodes, nd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	member := func(i int) raftstate.Member {
		return raftstate.Member{ID: fmt.Sprintf("b%d", i), Address: nodes[i].lis.Addr().String(), CPUs: 1}
	}
	if err := nodes[0].store.Bootstrap(ctx, member(0)); err != nil {
		return nil, err
	}
	for i := 1; i < 3; i++ {
		if _, err := nodes[0].store.Join(ctx, member(i)); err != nil {
			return nil, err
		}
	}
	for _, nd := range nodes {
		for len(nd.store.Members()) < 3 {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("raft cluster did not form: %w", ctx.Err())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	leader := nodes[0].store
	p50, p99, err := raftstate.MeasureApplyLatency(leader, n)
	if err != nil {
		return nil, err
	}
	w := raftstate.NewWriter(nodes[1].store, forwarder{nodes[1].pool})
	ds := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := w.Apply(ctx, raftstate.Nop{}, nil); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	f50, f99 := ds[(n-1)/2], ds[(n*99+99)/100-1]
	return []row{
		{fmt.Sprintf("Raft apply at the leader, 3 nodes, mTLS loopback (%d)", n), fmt.Sprintf("p50 %v, p99 %v", round(p50), round(p99))},
		{fmt.Sprintf("Raft apply forwarded from a follower (%d)", n), fmt.Sprintf("p50 %v, p99 %v", round(f50), round(f99))},
	}, nil
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

type forwarder struct{ pool *remote.Pool }

func (f forwarder) Forward(ctx context.Context, addr string, req *raftstate.ForwardRequest) (*raftstate.ForwardResponse, error) {
	var resp raftstate.ForwardResponse
	if err := f.pool.Client(addr).Call(ctx, remote.MsgForward, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// psLatency starts n nodes, procs sleeping processes spread over them, and
// times herd ps through n1.
func psLatency(herd, work string, n, procs, reps int) ([]row, error) {
	dir := filepath.Join(work, fmt.Sprintf("ps-%d", n))
	sock, err := clusterUp(herd, dir, n)
	if err != nil {
		return nil, err
	}
	defer clusterDown(herd, dir)
	var launchers []*exec.Cmd
	defer func() {
		for _, c := range launchers {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	}()
	for i := 1; i <= n; i++ {
		k := procs / n
		if i <= procs%n {
			k++
		}
		if k == 0 {
			continue
		}
		script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do sleep 3600 & i=$((i+1)); done; echo ready; wait`, k)
		cmd := herdCmd(herd, filepath.Join(dir, fmt.Sprintf("n%d", i), "herd.sock"), "run", "--", "/bin/sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		launchers = append(launchers, cmd)
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "ready" {
			return nil, fmt.Errorf("n%d: starting %d processes: %q %v", i, k, line, err)
		}
	}
	var ts []float64
	listed := 0
	for r := 0; r <= reps; r++ {
		t0 := time.Now()
		out, err := herdCmd(herd, sock, "ps", "--json").Output()
		d := time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("herd ps on %d nodes: %v", n, err)
		}
		var ps []json.RawMessage
		if err := json.Unmarshal(out, &ps); err != nil {
			return nil, err
		}
		listed = len(ps)
		if r > 0 { // the first run warms the connections
			ts = append(ts, float64(d.Microseconds())/1000)
		}
	}
	if listed < procs {
		return nil, fmt.Errorf("herd ps on %d nodes listed %d processes, want at least %d", n, listed, procs)
	}
	return []row{{fmt.Sprintf("herd ps, %d node(s), %d processes listed", n, listed),
		fmt.Sprintf("%.1f ms median (%.1f–%.1f)", median(ts), slices.Min(ts), slices.Max(ts))}}, nil
}
