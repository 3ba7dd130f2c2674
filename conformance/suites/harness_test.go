// Package suites runs test suites written elsewhere — stress-ng stressors,
// the Go standard library's process and signal tests, busybox and bash
// scripts, a parallel make and Python's multiprocessing — natively and
// under `herd run`, and compares. The native kernel is the oracle.
//
// Each workload runs in the herd modes of the conformance package (see
// modes_test.go): single (the embedded node), daemon (through n2 of a
// three-node --netns cluster, started once per test binary and stopped by
// TestMain) and spread (the same, with every execve placed round-robin
// over the nodes). TestSpreadPipeline and TestSpreadMake are issue 8's
// two proofs.
//
// The tests need root (herd needs it for namespaces and ptrace) and the
// programs they run; without them they skip with the reason. The herd
// binary is $HERD_BIN, else it is built once from ../../cmd/herd.
// $HERD_RUN_FLAGS adds flags to every `herd run` (e.g. --strace).
package suites

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"herd/conformance"
)

var (
	workDir string // temp dir of this test binary (the herd build)

	herdOnce sync.Once
	herdBin  string
	herdErr  error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run() // every test skips
	}
	dir, err := os.MkdirTemp("", "herd-suites-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "suites: make work dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	workDir = dir
	// Descendants that outlive their parent (daemonised stress-ng
	// workers, herd-init after `herd run` exits, shells' orphans) are
	// reparented to this process, so sweep can kill and reap them.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "suites: become a subreaper: %v\n", err)
		return 1
	}
	stopWatchdog := clusterWatchdog()
	defer stopWatchdog()
	code := m.Run()
	sweep()
	stopCluster()
	return code
}

// requireRoot skips unless root: herd creates namespaces and traces.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("suites need root: herd creates PID and mount namespaces and traces with ptrace")
	}
}

// requireProgram returns the path of prog in the PATH of the runs (see
// baseEnv: the test's own PATH may hold shims, such as pyenv's) or skips
// the test, naming the package that provides it.
func requireProgram(t *testing.T, prog, pkg string) string {
	t.Helper()
	for _, dir := range filepath.SplitList(strings.TrimPrefix(baseEnv()[0], "PATH=")) {
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("%s is not installed (Debian package %s; run .ci/deps)", prog, pkg)
	return ""
}

// herd returns the herd binary under test, failing the test if there is
// none.
func herd(t *testing.T) string {
	t.Helper()
	herdOnce.Do(func() { herdBin, herdErr = conformance.HerdBinary(workDir) })
	if herdErr != nil {
		t.Fatal(herdErr)
	}
	return herdBin
}

// spec describes one run of a workload.
type spec struct {
	argv    []string
	dir     string        // working directory (required)
	env     []string      // nil: baseEnv()
	stdin   string        // "" : /dev/null
	timeout time.Duration // bound on the whole run
}

// result is what one run produced.
type result struct {
	mode           mode
	stdout, stderr string
	status         int    // exit code, or 128+N if killed by signal N
	failure        string // the run itself failed: timeout, could not start
}

// summary is a short description for failure messages.
func (r *result) summary() string {
	if r.failure != "" {
		return r.failure
	}
	return fmt.Sprintf("exit status %d", r.status)
}

// baseEnv is the fixed environment of every run.
func baseEnv() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LC_ALL=C",
		"HOME=/root",
	}
}

// run executes s natively or under `herd run` (mode m) in its own process group,
// kills the group on timeout and after exit, and sweeps up any
// descendant that escaped the group, so nothing is left running.
func run(t *testing.T, m mode, s spec) *result {
	t.Helper()
	argv := append(m.prefix(t), s.argv...)
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	if cmd.Env == nil {
		cmd.Env = baseEnv()
	}
	if s.stdin != "" {
		cmd.Stdin = strings.NewReader(s.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	res := &result{mode: m}
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	sweep()
	switch {
	case ctx.Err() != nil:
		res.failure = fmt.Sprintf("timed out after %v (process group killed)", s.timeout)
	case cmd.ProcessState == nil:
		res.failure = fmt.Sprintf("could not start %s: %v", argv[0], err)
	default:
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			res.status = 128 + int(ws.Signal())
		} else {
			res.status = ws.ExitStatus()
		}
	}
	res.stdout = stdout.String()
	res.stderr = stderr.String()
	return res
}

// sweep kills and reaps every child of this process that is not an
// exec.Cmd in flight: descendants of finished runs, reparented here
// because this process is a subreaper. Runs are sequential, so when no
// run is in flight every child is a leftover, but for the node daemons of
// the cluster (reparented here too), which stopCluster ends.
func sweep() {
	self := os.Getpid()
	for round := 0; round < 50; round++ {
		kids := slices.DeleteFunc(childrenOf(self), isClusterDaemon)
		if len(kids) == 0 {
			return
		}
		for _, pid := range kids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range kids {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

// childrenOf lists the PIDs whose parent is ppid, from /proc.
func childrenOf(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parens.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if p, err := strconv.Atoi(f[1]); err == nil && p == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("copy %s: not a regular file", path)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// indent prefixes every line of s for readable failure messages.
func indent(s string) string {
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// lineDiff is conformance.LineDiff, indented for failure messages.
func lineDiff(a, b string) string { return conformance.LineDiff(a, b, "    ") }

// compareOutputs fails t unless herd's run matches the native one:
// same status, same stdout and stderr after norm (nil: identity).
func compareOutputs(t *testing.T, nat, hrd *result, norm func(string) string) {
	t.Helper()
	if norm == nil {
		norm = func(s string) string { return s }
	}
	if nat.failure != "" {
		t.Fatalf("native run failed, so there is no oracle: %s\nstdout:\n%s\nstderr:\n%s", nat.failure, indent(nat.stdout), indent(nat.stderr))
	}
	if hrd.failure != "" {
		t.Fatalf("herd run failed: %s\nnative stdout:\n%s\nherd stdout:\n%s\nherd stderr:\n%s", hrd.failure, indent(nat.stdout), indent(hrd.stdout), indent(hrd.stderr))
	}
	var b strings.Builder
	if nat.status != hrd.status {
		fmt.Fprintf(&b, "exit status: native %d, herd %d\n", nat.status, hrd.status)
	}
	if n, h := norm(nat.stdout), norm(hrd.stdout); n != h {
		fmt.Fprintf(&b, "stdout differs:\n%s", lineDiff(n, h))
	}
	if n, h := norm(nat.stderr), norm(hrd.stderr); n != h {
		fmt.Fprintf(&b, "stderr differs:\n%s", lineDiff(n, h))
	}
	if b.Len() > 0 {
		t.Errorf("herd differs from native:\n%s", b.String())
	}
}

// pidPattern matches a number printed as a PID where our workloads print
// one: "pid=N", "pid N", and bash's job reports ("line 7:  4099 Killed",
// padded to five columns).
var pidPattern = regexp.MustCompile(`\b(pid=|pid |line \d+: )\s*\d+\b`)

// normalisePIDs replaces printed PIDs with a placeholder.
func normalisePIDs(s string) string {
	return pidPattern.ReplaceAllString(s, "${1}PID")
}

// testdata lists testdata/DIR/PATTERN in order, failing if there is none:
// a suite that finds nothing to run must not pass.
func testdata(t *testing.T, dir, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("nothing in testdata/%s", dir)
	}
	return files
}
