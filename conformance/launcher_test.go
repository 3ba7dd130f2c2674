package conformance

// Tests of herd run as a user meets it: exit statuses and messages like a
// shell's, stdio and environment passed through, signals forwarded,
// --strace, and terminal job control driven through tmux.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// herdRun runs `herd run ARGS...` with stdin, returning stdout, stderr and
// the exit status.
func herdRun(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	requireRoot(t)
	bin, err := herdBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, errOut, status := runStatus(t, cmd)
	if ctx.Err() != nil {
		t.Fatalf("herd run %q timed out", args)
	}
	return out, errOut, status
}

func TestLauncherExitStatus(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		status  int
		message string // in stderr
	}{
		{"exit code", []string{"--", "sh", "-c", "exit 7"}, 7, ""},
		{"killed by SIGTERM", []string{"--", "sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"killed by SIGKILL", []string{"--", "sh", "-c", "kill -KILL $$"}, 128 + 9, ""},
		{"command not found", []string{"--", "herd-no-such-command"}, 127, "herd: herd-no-such-command: command not found"},
		{"no such file", []string{"--", "/no/such/file"}, 127, "herd: /no/such/file: No such file or directory"},
		{"not executable", []string{"--", noexec}, 126, "herd: " + noexec + ": Permission denied"},
		{"a directory", []string{"--", dir}, 126, "herd: " + dir + ": Is a directory"},
		{"missing program", nil, 2, "missing program"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, status := herdRun(t, "", c.args...)
			if status != c.status {
				t.Errorf("status %d, want %d (stderr %q)", status, c.status, stderr)
			}
			if !strings.Contains(stderr, c.message) {
				t.Errorf("stderr %q does not say %q", stderr, c.message)
			}
		})
	}
}

func TestLauncherPassesStdioEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	bin, err := herdBinary()
	if err != nil {
		t.Fatal(err)
	}
	requireRoot(t)
	cmd := exec.Command(bin, "run", "--", "sh", "-c", `read line; echo "in=$line env=$HERD_TEST_VAR dir=$(pwd)"; echo err >&2`)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HERD_TEST_VAR=forty-two")
	cmd.Stdin = strings.NewReader("hello\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("herd run: %v (stderr %q)", err, errb.String())
	}
	want := fmt.Sprintf("in=hello env=forty-two dir=%s\n", dir)
	if out.String() != want || errb.String() != "err\n" {
		t.Fatalf("stdout %q stderr %q, want %q and \"err\\n\"", out.String(), errb.String(), want)
	}
}

func TestLauncherParentAndGroup(t *testing.T) {
	// The program sees a parent that is not pid 1 and leads its own
	// process group, as under a shell with job control.
	out, stderr, status := herdRun(t, "", "--", "sh", "-c",
		`[ "$PPID" != 1 ] && echo parent-not-init; [ "$(ps -o pgid= -p $$ | tr -d ' ')" = "$$" ] && echo group-leader`)
	if status != 0 || out != "parent-not-init\ngroup-leader\n" {
		t.Fatalf("status %d stdout %q stderr %q", status, out, stderr)
	}
}

func TestLauncherStrace(t *testing.T) {
	_, stderr, status := herdRun(t, "", "--strace", "--", "sh", "-c", "kill -0 $$; exit 3")
	if status != 3 {
		t.Fatalf("status %d, want 3", status)
	}
	for _, want := range []string{"getppid() = ", "kill(", ", 0) = 0"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--strace output lacks %q:\n%s", want, stderr)
		}
	}
}

// The trace shows the program's calls only, the same in every run: never
// the shim's own credential drop before its exec (it did when the shim was
// seized while its own exec was still finishing).
func TestLauncherStraceOmitsTheShim(t *testing.T) {
	var first string
	for i := 0; i < 20; i++ {
		_, stderr, status := herdRun(t, "", "--strace", "--", "/bin/true")
		if status != 0 {
			t.Fatalf("run %d: status %d, stderr %q", i, status, stderr)
		}
		for _, shim := range []string{"setresgid(", "setresuid(", "setgroups("} {
			if strings.Contains(stderr, shim) {
				t.Fatalf("run %d: the trace shows the shim's %s:\n%s", i, shim, stderr)
			}
		}
		if i == 0 {
			first = stderr
		} else if stderr != first {
			t.Fatalf("run %d traced %q, run 0 %q", i, stderr, first)
		}
	}
}

func TestLauncherForwardsSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			requireRoot(t)
			bin, err := herdBinary()
			if err != nil {
				t.Fatal(err)
			}
			script := fmt.Sprintf(`trap 'echo caught; exit 3' %d; echo ready; while :; do sleep 0.02; done`, int(sig))
			cmd := exec.Command(bin, "run", "--", "sh", "-c", script)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			r := bufio.NewReader(stdout)
			if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			// Only the launcher gets the signal, as from `kill` in a
			// shell; it must reach the program's process group.
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(r)
			err = cmd.Wait()
			if !strings.Contains(string(rest), "caught") {
				t.Errorf("program did not catch %v: %q", sig, rest)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
				t.Errorf("exit %v, want status 3", err)
			}
		})
	}
}

// tmuxSession runs a shell in a detached tmux session for terminal tests.
type tmuxSession struct {
	t    *testing.T
	name string
}

func newTmux(t *testing.T) *tmuxSession {
	t.Helper()
	requireRoot(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("terminal job control test needs tmux (apt-get install tmux)")
	}
	s := &tmuxSession{t: t, name: fmt.Sprintf("herd-test-%d", os.Getpid())}
	cmd := exec.Command("tmux", "new-session", "-d", "-s", s.name, "-x", "150", "-y", "50", "env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "PS1=$ ", "bash", "--norc", "--noprofile")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, b)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

func (s *tmuxSession) send(keys ...string) {
	s.t.Helper()
	if b, err := exec.Command("tmux", append([]string{"send-keys", "-t", s.name}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v: %s", err, b)
	}
}

func (s *tmuxSession) screen() string {
	b, _ := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	return string(b)
}

// waitFor polls the screen until it contains want.
func (s *tmuxSession) waitFor(want string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.screen(), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("screen never showed %q:\n%s", want, s.screen())
}

// waitForLine polls the screen until a line starts with prefix.
func (s *tmuxSession) waitForLine(prefix string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.screen(), "\n") {
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no line of the screen started with %q:\n%s", prefix, s.screen())
}

func TestJobControlInTerminal(t *testing.T) {
	bin, err := herdBinary()
	if err != nil {
		t.Fatal(err)
	}
	jobControl(t, bin+" run -- bash --norc --noprofile -i")
}

// Through a node daemon, which is not in the caller's session, herd run
// gives the program a pseudo-terminal of its own and proxies it: job
// control works the same.
func TestJobControlThroughDaemon(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("terminal job control test needs tmux (apt-get install tmux)")
	}
	prefix := startDaemon(t) // herd run --socket SOCK --
	jobControl(t, strings.Join(prefix, " ")+" bash --norc --noprofile -i")
}

// jobControl drives an interactive bash started by cmd in a terminal.
func jobControl(t *testing.T, cmd string) {
	s := newTmux(t)
	// The status is echoed by the outer shell once herd run has exited:
	// typed after "exit 5", the echo could reach herd run's raw-mode
	// stdin before it exits, and be lost.
	s.send(cmd+"; echo herd-status=$?", "Enter")
	s.send("PS1='herd> '", "Enter")
	// Typed keys are echoed by the terminal before the shell under herd
	// reads them, so wait for what only that shell prints at the start of
	// a line: its prompt, and the echo's output.
	s.waitForLine("herd>") // capture-pane drops the trailing space
	s.send("echo parent=$PPID", "Enter")
	s.waitForLine("parent=")
	s.send("sleep 60", "Enter")
	time.Sleep(300 * time.Millisecond) // let sleep start; the assertions below poll
	s.send("C-z")
	s.waitFor("Stopped")
	s.send("jobs -l > /dev/null; echo jobs=$(jobs | wc -l)", "Enter")
	s.waitFor("jobs=1")
	s.send("bg", "Enter")
	s.send("jobs", "Enter")
	s.waitFor("Running")
	s.send("fg", "Enter")
	time.Sleep(300 * time.Millisecond)
	s.send("C-c")
	s.send("echo after=$?", "Enter")
	s.waitFor("after=130")
	s.send("sleep 60 &", "Enter")
	s.send("kill %1; wait %1; echo killed=$?", "Enter")
	s.waitFor("killed=143")
	s.send("stty size", "Enter")
	s.waitFor("50 150")
	s.send("exit 5", "Enter")
	s.waitFor("herd-status=5")
}
