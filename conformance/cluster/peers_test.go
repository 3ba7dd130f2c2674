package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the uid and gid the cross-node kill tests run a user's
// programs as (setpriv; the launcher socket takes the caller's identity).
const nobody = "65534"

// asNobody is argv run as uid and gid nobody, without groups.
func asNobody(argv ...string) []string {
	return append([]string{"setpriv", "--reuid=" + nobody, "--regid=" + nobody, "--clear-groups"}, argv...)
}

// bgRun is a `herd run` left running in the background.
type bgRun struct {
	cmd    *exec.Cmd
	pid    int      // the program's
	stderr *os.File // a file: the program, which outlives herd run, holds it too
	done   chan struct{}
}

// errors is what herd run wrote on stderr.
func (r *bgRun) errors() string {
	b, _ := os.ReadFile(r.stderr.Name())
	return string(b)
}

// exited reports whether herd run has exited.
func (r *bgRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// startSleeper runs `sh -c 'echo $$; exec sleep 1000'` through node i's
// socket, as nobody if user, and returns it once it printed its PID.
// Cleanup kills it.
func (c *testCluster) startSleeper(i int, user bool) *bgRun {
	c.t.Helper()
	argv := []string{herdBin, "run", "--", "/bin/sh", "-c", "echo $$; exec sleep 1000"}
	if user {
		argv = asNobody(argv...)
	}
	r := &bgRun{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	var err error
	r.cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(i))
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if r.stderr, err = os.CreateTemp(c.t.TempDir(), "stderr"); err != nil {
		c.t.Fatal(err)
	}
	r.cmd.Stderr = r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		// The program runs on in its node until the cluster goes.
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		r.stderr.Close()
	})
	var line [32]byte
	n, _ := out.Read(line[:])
	go func() {
		r.cmd.Wait()
		close(r.done)
	}()
	if r.pid, err = strconv.Atoi(strings.TrimSpace(string(line[:n]))); err != nil {
		c.t.Fatalf("herd run via n%d printed %q", i, line[:n])
	}
	return r
}

// killVia runs `sh -c 'kill ARGS'` through node i, as nobody if user,
// and returns its status and stderr.
func (c *testCluster) killVia(i int, user bool, args string) (int, string) {
	c.t.Helper()
	argv := []string{herdBin, "run", "--", "/bin/sh", "-c", "kill " + args}
	if user {
		argv = asNobody(argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(i))
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), e.String()
	} else if err != nil {
		c.t.Fatalf("herd run kill %s: %v", args, err)
	}
	return 0, e.String()
}

// wantKilled waits for r's herd run to exit and checks it reports that
// its program died of SIGTERM (128+15).
func wantKilled(t *testing.T, r *bgRun, what string) {
	t.Helper()
	waitFor(t, 20*time.Second, what+": herd run exits", r.exited)
	if st := r.cmd.ProcessState.ExitCode(); st != 128+int(syscall.SIGTERM) {
		t.Errorf("%s: herd run exited %d, want %d (SIGTERM); stderr %q", what, st, 128+int(syscall.SIGTERM), r.errors())
	}
}

// A process on node 2 is reached by kill on node 1, with Linux's rules:
// kill -0 finds it, a user's kill of a root process is EPERM, the user's
// kill -TERM kills the user's own, and kill -TERM -1 reaches every
// process of the user on the other node but not root's.
func TestKillAcrossNodes(t *testing.T) {
	c := upCluster(t, 2, 1)
	mine := c.startSleeper(2, true)
	roots := c.startSleeper(2, false)

	if st, errOut := c.killVia(1, true, "-0 "+strconv.Itoa(mine.pid)); st != 0 {
		t.Errorf("kill -0 %d (n2) from n1 as nobody: status %d, %s", mine.pid, st, errOut)
	}
	if st, errOut := c.killVia(1, false, "-0 "+strconv.Itoa(roots.pid)); st != 0 {
		t.Errorf("kill -0 %d (n2) from n1 as root: status %d, %s", roots.pid, st, errOut)
	}
	st, errOut := c.killVia(1, true, "-TERM "+strconv.Itoa(roots.pid))
	if st == 0 || !strings.Contains(errOut, "ermitted") {
		t.Errorf("kill of root's %d (n2) from n1 as nobody: status %d, %q; want EPERM", roots.pid, st, errOut)
	}
	if st, errOut := c.killVia(1, true, "-TERM 4"); st == 0 {
		t.Errorf("kill of no process from n1: status 0 (%s); want ESRCH", errOut)
	}
	if st, errOut := c.killVia(1, true, "-TERM "+strconv.Itoa(mine.pid)); st != 0 {
		t.Errorf("kill -TERM %d (n2) from n1 as nobody: status %d, %s", mine.pid, st, errOut)
	}
	wantKilled(t, mine, fmt.Sprintf("nobody's %d on n2", mine.pid))

	again := c.startSleeper(2, true)
	if st, errOut := c.killVia(1, true, "-TERM -1"); st != 0 {
		t.Errorf("kill -TERM -1 from n1 as nobody: status %d, %s", st, errOut)
	}
	wantKilled(t, again, fmt.Sprintf("nobody's %d on n2 by kill -1", again.pid))
	if roots.exited() {
		t.Errorf("root's %d on n2 died of nobody's kill -1: %q", roots.pid, roots.errors())
	}
	if st, errOut := c.killVia(1, false, "-0 "+strconv.Itoa(roots.pid)); st != 0 {
		t.Errorf("root's %d gone after nobody's kill -1: status %d, %s", roots.pid, st, errOut)
	}
}
