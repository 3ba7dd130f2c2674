package cluster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// placedRun runs `herd run ARGS` through node via with stdin, stdout and
// stderr given, and returns its exit status.
func (c *testCluster) placedRun(via int, stdout, stderr *os.File, args ...string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, herdBin, append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(via))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("herd run %v: %v", args, err)
	}
	return 0
}

// appendFile opens a file for appending, as a shell's >> does.
func appendFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A program placed on another node at its exec runs there with its PID,
// writes where it was told, and its exit status comes back to herd run
// on the node it was launched from; herd ps shows it on its node while
// it runs.
func TestPlaceExecOnNode(t *testing.T) {
	c := upCluster(t, 3, 3)
	out := filepath.Join(t.TempDir(), "out")
	f := appendFile(t, out)
	status := c.placedRun(1, f, f, "--placement", "node:n3", "--", "/bin/sh", "-c",
		`echo "pid $$ ppid $PPID"; read self rest </proc/self/stat; echo $self; exit 7`)
	if status != 7 {
		b, _ := os.ReadFile(out)
		t.Fatalf("herd run --placement node:n3: status %d, want 7; output:\n%s", status, b)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "pid "+lines[1]+" ") {
		t.Fatalf("output %q: want the shell's $$ equal to its kernel PID", b)
	}
	// While it runs, herd ps shows it on n3.
	go c.placedRun(2, f, f, "--placement", "node:n3", "--", "/bin/sleep", "3")
	waitFor(t, 20*time.Second, "a sleep on n3 in herd ps", func() bool { return c.procsOn("sleep")["n3"] > 0 })
}

// With the spread policy, a shell's children exec on the nodes in turn
// (with least-loaded, on the idlest): the shell waits for each (wait and
// exit statuses across nodes), and a child killed by a signal is
// reported as killed, as natively.
func TestPlaceSpreadWait(t *testing.T) {
	c := upCluster(t, 3, 3)
	script := `for i in 1 2 3 4 5 6; do /bin/sh -c "exit $i"; echo "status $?"; done
/bin/sh -c 'kill -TERM $$'; echo "killed $?"
/bin/sleep 5 & p=$!; { kill -KILL $p; wait $p; } 2>/dev/null; echo "sleep $?"`
	// The shell's own notice of the foreground child killed by SIGTERM
	// ("Terminated") is part of the output, as natively; its notice of a
	// background job's death depends on whether its SIGCHLD came before
	// the wait (natively too), so that one is discarded.
	native := exec.Command("/bin/sh", "-c", script)
	var want bytes.Buffer
	native.Stdout, native.Stderr = &want, &want
	if err := native.Run(); err != nil {
		t.Fatalf("natively: %v", err)
	}
	if !strings.Contains(want.String(), "status 6\n") {
		t.Fatalf("native output %q", want.String())
	}
	for _, policy := range []string{"spread", "least-loaded"} {
		out := filepath.Join(t.TempDir(), "out")
		f := appendFile(t, out)
		status := c.placedRun(1, f, f, "--placement", policy, "--", "/bin/sh", "-c", script)
		if b, _ := os.ReadFile(out); status != 0 || string(b) != want.String() {
			t.Fatalf("%s: status %d, output:\n%s\nnatively:\n%s", policy, status, b, want.String())
		}
	}
}

// herd placement shows and (as root) sets the cluster's default, which
// every node sees and herd run uses when --placement is not given.
func TestPlacementDefault(t *testing.T) {
	c := upCluster(t, 3, 3)
	if o, e, st := herd(t, c.sock(2), "placement"); st != 0 || strings.TrimSpace(o) != "local" {
		t.Fatalf("herd placement: %q %q status %d, want local", o, e, st)
	}
	if o, e, st := herd(t, c.sock(2), "placement", "node:n3"); st != 0 || strings.TrimSpace(o) != "node:n3" {
		t.Fatalf("herd placement node:n3: %q %q status %d", o, e, st)
	}
	if _, e, st := herd(t, c.sock(1), "placement", "everywhere"); st == 0 || !strings.Contains(e, "want local, spread") {
		t.Fatalf("herd placement everywhere: status %d, stderr %q: want refused", st, e)
	}
	waitFor(t, 10*time.Second, "n1 to see placement node:n3", func() bool {
		o, _, _ := herd(t, c.sock(1), "placement")
		return strings.TrimSpace(o) == "node:n3"
	})
	f := appendFile(t, filepath.Join(t.TempDir(), "out"))
	go c.placedRun(1, f, f, "--", "/bin/sleep", "3")
	waitFor(t, 20*time.Second, "a sleep on n3 in herd ps", func() bool { return c.procsOn("sleep")["n3"] > 0 })
}

// --placement is checked before anything runs.
func TestPlacementFlagChecked(t *testing.T) {
	needRoot(t)
	_, e, st := herd(t, filepath.Join(t.TempDir(), "none.sock"), "run", "--placement", "nowhere", "--", "/bin/true")
	if st != 2 || !strings.Contains(e, "want local, spread") {
		t.Fatalf("status %d, stderr %q; want 2 and the policies", st, e)
	}
	_, e, st = herd(t, filepath.Join(t.TempDir(), "none.sock"), "run", "--placement", "spread", "--", "/bin/true")
	if st == 0 || !strings.Contains(e, "needs a cluster") {
		t.Fatalf("spread without a daemon: status %d, stderr %q; want refused", st, e)
	}
}

// A signal herd run forwards to its job (as a terminal's Ctrl-C would go
// to the foreground group) reaches the group's members on every node.
func TestJobSignalAcrossNodes(t *testing.T) {
	c := upCluster(t, 3, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, herdBin, "run", "--placement", "spread", "--",
		"/bin/sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000 & wait")
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(1))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the job's sleeps on at least two nodes", func() bool { return len(c.procsOn("sleep 1000")) >= 2 })
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+int(syscall.SIGTERM) {
		t.Fatalf("herd run: %v, want exit status 143", err)
	}
	waitFor(t, 20*time.Second, "no sleep left after SIGTERM to the job", func() bool { return len(c.procsOn("sleep 1000")) == 0 })
}

// procsOn counts, by node, the processes of herd ps whose command line
// contains cmd.
func (c *testCluster) procsOn(cmd string) map[string]int {
	on := map[string]int{}
	for _, r := range c.ps(1) {
		if strings.Contains(r.Cmd, cmd) {
			on[r.Node]++
		}
	}
	return on
}

// A placed child's output through a pipe is written before its exit is
// reported: a shell that waits for each child and then writes sees the
// lines in the native order, though each child wrote on another node.
func TestPlacedOutputBeforeExit(t *testing.T) {
	c := upCluster(t, 3, 3)
	// Each child writes more than a pipe holds: at its exit, part of it
	// is still on its way.
	script := `i=0; while [ $i -lt 6 ]; do /usr/bin/seq 1 60000; echo "parent $i"; i=$((i+1)); done`
	want, err := exec.Command("/bin/sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, st := herd(t, c.sock(1), "run", "--placement", "spread", "--", "/bin/sh", "-c", script)
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, errOut)
	}
	got, native := strings.Split(out, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(got), len(native)) {
		if i >= len(got) || i >= len(native) || got[i] != native[i] {
			t.Fatalf("%d lines, natively %d; they differ from line %d: %q, natively %q",
				len(got), len(native), i+1, strings.Join(got[i:min(i+3, len(got))], "|"), strings.Join(native[i:min(i+3, len(native))], "|"))
		}
	}
}
