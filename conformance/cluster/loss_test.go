package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd/procview"
)

// lossTimeout bounds what a test waits for after killing a node: the
// liveness timeout of herd cluster up (3s) and the time to act on it,
// with room for a loaded machine.
const lossTimeout = 90 * time.Second

// spreadRun is `herd run --placement spread -- /bin/sh -c script` through
// node 1, left running; its output goes to a file.
type spreadRun struct {
	cmd  *exec.Cmd
	out  string
	done chan struct{}
}

func (c *testCluster) startSpread(script string) *spreadRun {
	c.t.Helper()
	return c.startPlaced("spread", script)
}

// startPlaced is startSpread with another placement policy.
func (c *testCluster) startPlaced(policy, script string) *spreadRun {
	c.t.Helper()
	r := &spreadRun{out: filepath.Join(c.t.TempDir(), "out"), done: make(chan struct{})}
	f := appendFile(c.t, r.out)
	r.cmd = exec.Command(herdBin, "run", "--placement", policy, "--", "/bin/sh", "-c", script)
	r.cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(1))
	r.cmd.Stdout, r.cmd.Stderr = f, f
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		close(r.done)
	}()
	c.t.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	})
	return r
}

func (r *spreadRun) output() string {
	b, _ := os.ReadFile(r.out)
	return string(b)
}

func (r *spreadRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// pidsAfter returns the numbers printed after "word " on lines of r's
// output.
func (r *spreadRun) pidsAfter(word string) []int {
	var out []int
	for _, m := range regexp.MustCompile(`(?m)^`+word+` (\d+)$`).FindAllStringSubmatch(r.output(), -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// placed waits until herd ps via node 1 shows every pid of pids running
// a command line that starts with cmd (it has exec'd where it was
// placed), and returns each one's node.
func (c *testCluster) placed(pids []int, cmd string) map[int]string {
	c.t.Helper()
	var nodes map[int]string
	waitFor(c.t, lossTimeout, fmt.Sprintf("%v running %s in herd ps", pids, cmd), func() bool {
		nodes = map[int]string{}
		for _, r := range c.ps(1) {
			if slices.Contains(pids, r.PID) && strings.HasPrefix(r.Cmd, cmd) {
				nodes[r.PID] = r.Node
			}
		}
		return len(nodes) == len(pids)
	})
	return nodes
}

// lose kills node id's daemon, as kill -9 does.
func (c *testCluster) lose(id string) {
	c.t.Helper()
	i := c.index(id)
	if i <= 1 {
		c.t.Fatalf("would lose %q, the node the test talks to", id)
	}
	c.kill9(i)
}

// survivorsServe checks that the nodes left run new work, placed across
// them.
func (c *testCluster) survivorsServe(lost string) {
	c.t.Helper()
	for i := 1; i <= c.n; i++ {
		if fmt.Sprintf("n%d", i) == lost {
			continue
		}
		out, errOut, st := herd(c.t, c.sock(i), "run", "--placement", "spread", "--", "/bin/sh", "-c",
			`for i in 1 2 3 4; do /bin/sh -c "exit $i"; echo $?; done`)
		if st != 0 || out != "1\n2\n3\n4\n" {
			c.t.Errorf("herd run via n%d after losing %s: status %d, output %q, stderr %q", i, lost, st, out, errOut)
		}
	}
}

// A shell waits for children that run on other nodes; the node holding
// some of them is killed: each wait for those returns 128+SIGKILL, herd
// run ends, herd ps lists them no more, and the other nodes keep serving.
// (The children on the other nodes are killed first with kill -9, so that
// every wait can end.) With and without --netns.
func TestNodeLossEndsWaits(t *testing.T) {
	for _, netns := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "netns"}[netns], func(t *testing.T) {
			c := upClusterNet(t, 3, 3, netns)
			lossEndsWaits(t, c, c.lose)
		})
	}
}

// The same when the node is restarted at once after its kill -9: it
// rejoins with a new incarnation, and the others take what ran there
// before as lost without waiting for liveness to say down (which a
// quick enough restart never lets it say).
func TestNodeRestartEndsWaits(t *testing.T) {
	c := upCluster(t, 3, 3)
	lossEndsWaits(t, c, func(id string) {
		i := c.index(id)
		argv, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.pid(i)))
		if err != nil {
			t.Fatal(err)
		}
		c.lose(id)
		args := strings.Split(strings.TrimSuffix(string(argv), "\x00"), "\x00")
		logf := appendFile(t, filepath.Join(c.node(i), "node.log"))
		cmd := exec.Command(herdBin, args[1:]...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go cmd.Wait()
		if err := os.WriteFile(filepath.Join(c.node(i), "herd.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, lossTimeout, id+" serving again", func() bool {
			_, ok := c.tryNodes(i)
			return ok
		})
		log, _ := os.ReadFile(filepath.Join(c.node(1), "node.log"))
		t.Logf("n1 took the restart for a loss through its new incarnation: %v", strings.Contains(string(log), "node restarted before it was declared down"))
	})
}

func lossEndsWaits(t *testing.T, c *testCluster, lose func(id string)) {
	r := c.startSpread(`for i in 1 2 3 4 5; do /bin/sleep 1000 & pids="$pids $!"; echo "child $!"; done
echo "shell $$"
for p in $pids; do wait $p; echo "waited $p $?"; done
echo done`)
	waitFor(t, lossTimeout, "the shell's PID", func() bool { return len(r.pidsAfter("shell")) == 1 })
	kids := r.pidsAfter("child")
	shell := r.pidsAfter("shell")[0]
	nodes := c.placed(kids, "/bin/sleep")
	shellNode := c.placed([]int{shell}, "/bin/sh")[shell]
	lost := ""
	for _, id := range []string{"n2", "n3"} {
		if id != shellNode && slices.ContainsFunc(kids, func(p int) bool { return nodes[p] == id }) {
			lost = id
			break
		}
	}
	if lost == "" {
		t.Fatalf("no child on a node other than n1 and the shell's (%s): %v", shellNode, nodes)
	}
	var others, gone []string
	for _, p := range kids {
		if nodes[p] == lost {
			gone = append(gone, strconv.Itoa(p))
		} else {
			others = append(others, strconv.Itoa(p))
		}
	}
	t.Logf("shell %d on %s; children %v; losing %s", shell, shellNode, nodes, lost)
	if len(others) > 0 {
		if _, errOut, st := herd(t, c.sock(1), "run", "--", "/bin/sh", "-c", "kill -9 "+strings.Join(others, " ")); st != 0 {
			t.Fatalf("kill -9 of the children not on %s: status %d: %s", lost, st, errOut)
		}
	}
	lose(lost)
	waitFor(t, lossTimeout, "herd run to end after losing "+lost, r.exited)
	if st := r.cmd.ProcessState.ExitCode(); st != 0 {
		t.Errorf("herd run: status %d, output:\n%s", st, r.output())
	}
	for _, p := range kids {
		if want := fmt.Sprintf("waited %d 137\n", p); !strings.Contains(r.output(), want) {
			t.Errorf("output lacks %q:\n%s", want, r.output())
		}
	}
	for _, row := range c.ps(1) {
		if slices.Contains(gone, strconv.Itoa(row.PID)) {
			t.Errorf("herd ps still lists %+v", row)
		}
	}
	c.survivorsServe(lost)
}

// A pipeline spread over the nodes whose middle stage's node is killed
// ends (its neighbours get EOF or EPIPE) instead of hanging, and the
// other nodes keep serving.
func TestNodeLossEndsPipeline(t *testing.T) {
	c := upCluster(t, 3, 3)
	r := c.startSpread(`echo "shell $$"; /usr/bin/yes | /usr/bin/head -c 100000000000 | /usr/bin/wc -c`)
	waitFor(t, lossTimeout, "the shell's PID", func() bool { return len(r.pidsAfter("shell")) == 1 })
	shell := r.pidsAfter("shell")[0]
	var rows []procview.Row
	waitFor(t, lossTimeout, "the pipeline in herd ps", func() bool {
		rows = slices.DeleteFunc(c.ps(1), func(row procview.Row) bool { return row.PPID != shell })
		return len(rows) == 3 && !slices.ContainsFunc(rows, func(row procview.Row) bool { return strings.Contains(row.Cmd, "sh") })
	})
	shellNode := c.placed([]int{shell}, "/bin/sh")[shell]
	lost := pickStage(rows)
	if lost == "" {
		t.Fatalf("no stage of the pipeline on a node other than n1: %+v", rows)
	}
	t.Logf("shell on %s; pipeline %+v; losing %s", shellNode, rows, lost)
	c.lose(lost)
	waitFor(t, lossTimeout, "herd run to end after losing "+lost, r.exited)
	t.Logf("herd run: status %d, output %q", r.cmd.ProcessState.ExitCode(), r.output())
	// The stages on the other nodes end too (one may be finishing when
	// herd run learns that the shell is lost).
	waitFor(t, lossTimeout, "herd ps to list no stage of the pipeline", func() bool {
		return !slices.ContainsFunc(c.ps(1), func(row procview.Row) bool {
			return row.PID == shell || slices.ContainsFunc(rows, func(s procview.Row) bool { return s.PID == row.PID })
		})
	})
	c.survivorsServe(lost)
}

// herd run's program runs on another node, which is killed: herd run
// ends with 128+SIGKILL, as if the program had been killed.
func TestNodeLossEndsLaunch(t *testing.T) {
	c := upCluster(t, 3, 3)
	r := c.startPlaced("node:n2", `echo "shell $$"; exec /bin/sleep 1000`)
	waitFor(t, lossTimeout, "the program's PID", func() bool { return len(r.pidsAfter("shell")) == 1 })
	pid := r.pidsAfter("shell")[0]
	if node := c.placed([]int{pid}, "/bin/sleep")[pid]; node != "n2" {
		t.Fatalf("the program runs on %s, want n2", node)
	}
	c.lose("n2")
	waitFor(t, lossTimeout, "herd run to end after losing n2", r.exited)
	if st := r.cmd.ProcessState.ExitCode(); st != 128+int(syscall.SIGKILL) {
		t.Errorf("herd run: status %d, want %d; output:\n%s", st, 128+int(syscall.SIGKILL), r.output())
	}
	c.survivorsServe("n2")
}

// pickStage is the node to lose of a pipeline's stages: head's, else
// another stage's, off n1 (the node the test talks to).
func pickStage(rows []procview.Row) string {
	slices.SortFunc(rows, func(a, b procview.Row) int {
		return boolRank(!strings.Contains(a.Cmd, "head")) - boolRank(!strings.Contains(b.Cmd, "head"))
	})
	for _, row := range rows {
		if row.Node != "n1" {
			return row.Node
		}
	}
	return ""
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
