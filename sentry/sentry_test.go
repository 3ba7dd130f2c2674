package sentry

// The sentry's mechanism, tested on its own: a custom table and hooks,
// herd-init made from this test binary (re-executed as pid 1 of new
// namespaces), and small C programs built at test time. What the trapped
// calls mean is the syscalls package's business and is tested by the
// conformance suites; here only the contract of Action, Park/Wake, Spawn
// and the generated filter is checked.

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const scenarioEnv = "HERD_SENTRY_TEST_SCENARIO"

func TestMain(m *testing.M) {
	RunHelper() // the test binary is also herd-shim and herd-bell
	if name := os.Getenv(scenarioEnv); name != "" {
		os.Exit(runScenario(name, os.Getenv("HERD_SENTRY_TEST_PROG")))
	}
	os.Exit(m.Run())
}

// testHooks records exits; nothing else matters to these tests.
type testHooks struct {
	mu     sync.Mutex
	exited map[int]unix.WaitStatus
	done   chan int
}

func (h *testHooks) Cloned(parent, child *Task, op *CloneOp) {}
func (h *testHooks) Execed(t *Task)                          {}
func (h *testHooks) ThreadExited(tid, tgid int)              {}
func (h *testHooks) Stopped(tgid, sig int)                   {}
func (h *testHooks) Continued(tgid int)                      {}
func (h *testHooks) JobStops(tgid int) bool                  { return true }
func (h *testHooks) Exited(tgid int, ws unix.WaitStatus, ru *unix.Rusage) {
	h.mu.Lock()
	h.exited[tgid] = ws
	h.mu.Unlock()
	h.done <- tgid
}

// scenarioTable makes the table of scenario name; its handlers reach the
// sentry through *sp once it is made. check, if not nil, runs after the
// program has exited and returns a non-zero exit code on failure.
func scenarioTable(name string, sp **Sentry) (tb *Table, check func() int) {
	tb = NewTable()
	if check, ok := extraScenario(name, sp, tb); ok {
		return tb, check
	}
	switch name {
	case "return":
		// getppid is answered by the handler, never by the kernel.
		tb.Add(Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Trap, Note: "test",
			Handler: func(t *Task) Action { return Return(4242) }})
	case "deny":
		tb.Add(Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Deny, Errno: unix.EXDEV, Note: "test"})
	case "park":
		// getppid parks; it is woken 100 ms later with 77.
		tb.Add(Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Trap, Note: "test",
			Handler: func(t *Task) Action {
				time.AfterFunc(100*time.Millisecond, func() { (*sp).Post(func() { t.Wake(77) }) })
				return Park(nil)
			}})
	case "bell-killed":
		// The bell dies while a call is parked; work posted later must
		// still wake the tracer (through a new bell).
		tb.Add(Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Trap, Note: "test",
			Handler: func(t *Task) Action {
				unix.Kill((*sp).bell.Load().pid, unix.SIGKILL)
				time.AfterFunc(300*time.Millisecond, func() { (*sp).Post(func() { t.Wake(77) }) })
				return Park(nil)
			}})
	case "park-forever":
		// getppid parks and is never woken: only a signal ends it.
		tb.Add(Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Trap, Note: "test",
			Handler: func(t *Task) Action { return Park(func() {}) }})
	case "restart":
		// The first getppid parks until a signal interrupts it; the
		// restarted call (SA_RESTART) is answered 55.
		calls := 0
		tb.Add(Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Trap, Note: "test",
			Handler: func(t *Task) Action {
				calls++
				if calls == 1 {
					return Park(func() {})
				}
				return Return(55)
			}})
	case "native-then":
		// getpid runs natively and its result is rewritten at exit.
		tb.Add(Row{Nr: unix.SYS_GETPID, Name: "getpid", Disp: Trap, Note: "test",
			Handler: func(t *Task) Action {
				return NativeThen(func(t *Task, ret int64) { t.SetReturn(ret + 1000000) })
			}})
	}
	return tb, nil
}

// runScenario runs in pid 1 of the test's namespaces: it spawns prog
// under a table made for the scenario and exits with prog's exit code.
func runScenario(name, prog string) int {
	if err := BecomeInit(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 100
	}
	var s *Sentry
	tb, check := scenarioTable(name, &s)
	hooks := &testHooks{exited: map[int]unix.WaitStatus{}, done: make(chan int, 64)}
	var err error
	cfg := Config{Table: tb, Hooks: hooks}
	if os.Getenv("HERD_SENTRY_TEST_DEBUG") != "" {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.Strace = os.Stderr
	}
	s, err = New(cfg)
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 100
	}
	const pid = 5000
	started := make(chan error, 1)
	s.Post(func() {
		s.Spawn(SpawnSpec{
			PID: pid, Path: prog, Argv: []string{prog}, Env: os.Environ(),
			Stdio: [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		}, func(t *Task, err error) {
			if err == nil && t.TID != pid {
				err = fmt.Errorf("spawned pid %d, want %d", t.TID, pid)
			}
			started <- err
		})
	})
	if err := <-started; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 100
	}
	for tgid := range hooks.done {
		if tgid == pid {
			break
		}
	}
	hooks.mu.Lock()
	ws := hooks.exited[pid]
	hooks.mu.Unlock()
	if check != nil {
		if code := check(); code != 0 {
			return code
		}
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// The C programs print what they observe; each test compares it.
var programs = map[string]string{
	"ppid": `#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
int main(void) {
	errno = 0;
	long r = syscall(SYS_getppid);
	printf("getppid=%ld errno=%s pid=%d\n", r, errno ? strerrorname_np(errno) : "0", (int)getpid());
	return 0;
}`,
	"getpid": `#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) { printf("getpid=%ld\n", syscall(SYS_getpid)); return 0; }`,
	"eintr":   eintrProgram(0),
	"restart": eintrProgram(1),
}

// eintrProgram makes a program whose getppid is interrupted by SIGALRM
// after a second, with a handler with or without SA_RESTART.
func eintrProgram(restart int) string {
	return fmt.Sprintf(`#define _GNU_SOURCE
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
static void h(int s) { (void)s; }
int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = %d ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	errno = 0;
	long r = syscall(SYS_getppid);
	printf("r=%%ld errno=%%s\n", r, errno ? strerrorname_np(errno) : "0");
	return 0;
}`, restart)
}

func buildProgram(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("sentry tests build small C programs: install gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, name+".c")
	if err := os.WriteFile(src, []byte(programs[name]), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("gcc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

// scenario runs prog (with args) under the named table in a fresh
// herd-init and returns its output and exit code.
func scenario(t *testing.T, name, prog string) (string, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sentry tests need root (namespaces, ptrace)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), scenarioEnv+"="+name, "HERD_SENTRY_TEST_PROG="+prog)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := StartInit(cmd); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

func TestReturnSkipsTheCall(t *testing.T) {
	out, code := scenario(t, "return", buildProgram(t, "ppid"))
	if code != 0 || out != "getppid=4242 errno=0 pid=5000\n" {
		t.Fatalf("exit %d, output %q; want the handler's 4242 in pid 5000", code, out)
	}
}

func TestDenyFailsInTheFilter(t *testing.T) {
	out, code := scenario(t, "deny", buildProgram(t, "ppid"))
	if code != 0 || !strings.HasPrefix(out, "getppid=-1 errno=EXDEV ") {
		t.Fatalf("exit %d, output %q; want EXDEV from the filter", code, out)
	}
}

func TestParkThenWake(t *testing.T) {
	out, code := scenario(t, "park", buildProgram(t, "ppid"))
	if code != 0 || !strings.HasPrefix(out, "getppid=77 errno=0 ") {
		t.Fatalf("exit %d, output %q; want the woken value 77", code, out)
	}
}

func TestNativeThenRewritesTheResult(t *testing.T) {
	out, code := scenario(t, "native-then", buildProgram(t, "getpid"))
	if code != 0 || out != "getpid=1005000\n" {
		t.Fatalf("exit %d, output %q; want the kernel's 5000 plus 1000000", code, out)
	}
}

// A signal with a handler ends a parked call with EINTR when the handler
// lacks SA_RESTART, as the kernel does for a blocked wait4.
func TestParkedCallGetsEINTR(t *testing.T) {
	out, code := scenario(t, "park-forever", buildProgram(t, "eintr"))
	if code != 0 || out != "r=-1 errno=EINTR\n" {
		t.Fatalf("exit %d, output %q; want EINTR", code, out)
	}
}

// With SA_RESTART the interrupted call is restarted, as the kernel does:
// the handler sees it trapped a second time.
func TestParkedCallRestartsUnderSARestart(t *testing.T) {
	out, code := scenario(t, "restart", buildProgram(t, "restart"))
	if code != 0 || out != "r=55 errno=0\n" {
		t.Fatalf("exit %d, output %q; want the restarted call's 55", code, out)
	}
}

func TestKilledBellIsReplaced(t *testing.T) {
	out, code := scenario(t, "bell-killed", buildProgram(t, "ppid"))
	if code != 0 || !strings.HasPrefix(out, "getppid=77 errno=0 ") {
		t.Fatalf("exit %d, output %q; want the value posted after the bell died", code, out)
	}
}
