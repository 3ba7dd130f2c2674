package conformance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// soakProgram forks, vforks and starts threads, briefly, and waits for
// all of them: when it exits nothing of it is left, so its node has no
// reason to live on.
const soakProgram = `#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nothing(void *arg) { return arg; }

int main(void)
{
	pthread_t th;
	pthread_create(&th, NULL, nothing, NULL);
	for (int i = 0; i < 3; i++) {
		pid_t c = fork();
		if (c == 0) {
			pthread_t t2;
			if (i == 1 && pthread_create(&t2, NULL, nothing, NULL) == 0)
				pthread_join(t2, NULL);
			_exit(i);
		}
	}
	pid_t v = vfork();
	if (v == 0)
		_exit(9);
	pthread_join(th, NULL);
	/* each child's exit status is its number: say which ones came back,
	 * and how the wait loop ended, so a failure can be told apart */
	int st, n = 0, seen = 0;
	pid_t w;
	/* no handler is installed: Linux never ends wait with EINTR here */
	while ((w = wait(&st)) > 0) {
		n++;
		seen |= 1 << (WIFEXITED(st) ? WEXITSTATUS(st) : 15);
	}
	if (n == 4 && seen == 0x207)
		puts("ok");
	else
		printf("reaped %d, statuses 0x%x, wait ended with %s\n", n, seen, strerror(errno));
	return 0;
}
`

// soakDuration is how long the soak runs: 15 s in the suite, or
// $HERD_SOAK (a Go duration such as 10m) for a long run (make soak).
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("HERD_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("HERD_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 15 * time.Second
}

// TestSoakNoInitOutlivesLauncher runs many short `herd run`s of a forking,
// threading program on private nodes and checks that every herd-init
// ends with its launcher: a node that kept a task record its kernel never
// reports on (issue 7, difference 6) would wait forever for it.
func TestSoakNoInitOutlivesLauncher(t *testing.T) {
	requireRoot(t)
	bin, err := herdBinary()
	if err != nil {
		t.Fatalf("herd binary unavailable: %v", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "soak.c")
	prog := filepath.Join(dir, "soak")
	if err := os.WriteFile(src, []byte(soakProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := compile(src, prog, nil); err != nil {
		t.Fatal(err)
	}
	// A tag in the environment marks this test's herd-inits (they inherit
	// it from herd run); other test binaries on the machine are left be.
	tag := fmt.Sprintf("HERD_SOAK_TAG=%d-", os.Getpid())
	// No daemon: every run brings up a private node of its own.
	noSocket := "HERD_SOCKET=" + filepath.Join(dir, "no-daemon.sock")
	defer killTagged(tag)

	deadline := time.Now().Add(soakDuration(t))
	var runs, failures atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				n := runs.Add(1)
				env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", noSocket, tag + strconv.FormatInt(n, 10)}
				if msg := soakRun(bin, prog, env); msg != "" && failures.Add(1) <= 5 {
					t.Errorf("run %d: %s", n, msg)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d runs of herd run", runs.Load())
	// herd-init exits a moment after it reports the program's exit.
	left := tagged(tag)
	for wait := time.Now().Add(10 * time.Second); len(left) > 0 && time.Now().Before(wait); left = tagged(tag) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range left {
		t.Errorf("herd init (host pid %d, %s) outlived its launcher by 10 s:\n%s", pid, environTag(pid, tag), describeNode(pid))
	}
}

// soakRun runs prog once under `herd run` and says what went wrong, if
// anything.
func soakRun(bin, prog string, env []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--", prog)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("herd run timed out after %v; output %q", runTimeout, out.String())
	case err != nil:
		return fmt.Sprintf("herd run: %v; output %q", err, out.String())
	case out.String() != "ok\n":
		return fmt.Sprintf("output %q, want \"ok\\n\"", out.String())
	}
	return ""
}

// tagged lists the host PIDs of the herd-init processes whose environment
// holds tag.
func tagged(tag string) []int {
	var out []int
	for _, pid := range hostPIDs() {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		argv := strings.Split(string(cmdline), "\x00")
		if len(argv) < 2 || argv[1] != "init" || filepath.Base(argv[0]) != "herd" {
			continue
		}
		if environTag(pid, tag) != "" {
			out = append(out, pid)
		}
	}
	return out
}

// hostPIDs lists the processes of /proc.
func hostPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// environTag returns the tag variable in pid's environment, "" if none.
func environTag(pid int, tag string) string {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return ""
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if strings.HasPrefix(kv, tag) {
			return kv
		}
	}
	return ""
}

// describeNode lists the processes of a lingering node (herd-init's
// kernel children: the sandboxed processes and the bell) with their
// state, to tell a phantom record from a process that really runs on.
func describeNode(initPID int) string {
	var b strings.Builder
	for _, pid := range hostPIDs() {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces.
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(initPID) {
			continue
		}
		fmt.Fprintf(&b, "  pid %d %s state %s\n", pid, s[strings.IndexByte(s, '('):i+1], f[0])
	}
	if b.Len() == 0 {
		return "  (no kernel children: the node waits for a task that does not exist)\n"
	}
	return b.String()
}

// killTagged kills what the soak left behind: a herd-init's death ends
// its PID namespace.
func killTagged(tag string) {
	for _, pid := range tagged(tag) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
