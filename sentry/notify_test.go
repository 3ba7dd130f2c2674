package sentry

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/seccomp"
)

// notifyRow is a notified getppid: the handler (ptrace) answers 1111,
// the notification answers answer's value.
func notifyRow(answer Answer) Row {
	return Row{Nr: unix.SYS_GETPPID, Name: "getppid", Disp: Notify, Note: "test",
		Handler: func(t *Task) Action { return Return(1111) }, Answer: answer}
}

// notifyScenario makes the tables of the notification tests.
func notifyScenario(name string, sp **Sentry, tb *Table) (check func() int, ok bool) {
	// After the program, every receiver must end (its filter has no
	// user left), or the sentry would keep a thread per spawn.
	receiversEnd := func() int {
		for i := 0; (*sp).receivers.Load() != 0; i++ {
			if i == 500 {
				fmt.Println("a receiver outlived its program")
				return 3
			}
			time.Sleep(10 * time.Millisecond)
		}
		return 0
	}
	switch name {
	case "notify":
		// The answer names the caller's thread group.
		tb.Add(notifyRow(func(c *Call) int64 { return int64(100000 + c.TGID) }))
	case "notify-slow":
		// The first answer takes 1.5 s, during which a signal comes.
		var calls atomic.Int32
		tb.Add(notifyRow(func(c *Call) int64 {
			if calls.Add(1) == 1 {
				time.Sleep(1500 * time.Millisecond)
				return 2222
			}
			return 3333
		}))
	case "notify-match":
		// Only getppid(7) is notified; the others are trapped.
		row := notifyRow(func(c *Call) int64 { return 7000 + int64(c.Arg(0)) })
		row.Match = seccomp.PerArg{seccomp.EqualTo(7)}
		tb.Add(row)
	default:
		return nil, false
	}
	return receiversEnd, true
}

func skipWithoutNotify(t *testing.T) {
	t.Helper()
	if !notifySupported() {
		t.Skip("seccomp user notification with the sync wake-up needs Linux 6.6 (or " + notifyEnv + " is off)")
	}
}

// expectScenario runs prog under the named scenario and wants its output
// to begin with want; why says what that shows.
func expectScenario(t *testing.T, name, prog, want, why string) {
	t.Helper()
	out, code := scenario(t, name, buildProgram(t, prog))
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("exit %d, output %q; want %q: %s", code, out, want, why)
	}
}

// A notified row is answered by its Answer, with the caller's identity,
// without a ptrace stop (the handler would answer 1111).
func TestNotifyAnswersWithoutAStop(t *testing.T) {
	skipWithoutNotify(t)
	expectScenario(t, "notify", "ppid", "getppid=105000 errno=0 pid=5000\n", "the answer is 100000 + the caller's TGID")
}

// With notification off, the same row is trapped and its handler answers.
func TestNotifyOffTraps(t *testing.T) {
	t.Setenv(notifyEnv, "off")
	expectScenario(t, "notify", "ppid", "getppid=1111 errno=0 pid=5000\n", "the handler answers")
}

// A signal with a handler without SA_RESTART that comes once the receiver
// took the notification does not interrupt the call
// (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV): the answer is delivered, no
// EINTR, no second call.
func TestNotifyTakenCallIsNotInterrupted(t *testing.T) {
	skipWithoutNotify(t)
	expectScenario(t, "notify-slow", "eintr", "r=2222 errno=0\n", "the first answer, without EINTR")
}

// A thread killed while its notification is being answered does not
// wedge the receiver: the late SEND fails with ENOENT and the next call
// (the parent's) is answered.
func TestNotifyKilledCallerDoesNotWedge(t *testing.T) {
	skipWithoutNotify(t)
	programs["ppid-killed"] = `#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
int main(void) {
	pid_t c = fork();
	if (c == 0) { syscall(SYS_getppid); _exit(0); }
	usleep(300000);
	kill(c, SIGKILL);
	int st;
	waitpid(c, &st, 0);
	printf("child=%s r=%ld\n", WIFSIGNALED(st) ? "killed" : "exited", syscall(SYS_getppid));
	return 0;
}`
	expectScenario(t, "notify-slow", "ppid-killed", "child=killed r=3333\n", "the child killed in its call, the parent answered")
}

// A notified row's Match selects the notified calls; the others are
// trapped and answered by the handler, never run natively.
func TestNotifyMatchTrapsTheRest(t *testing.T) {
	skipWithoutNotify(t)
	programs["ppid-args"] = `#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
	printf("%ld %ld\n", syscall(SYS_getppid, 7), syscall(SYS_getppid, 8));
	return 0;
}`
	expectScenario(t, "notify-match", "ppid-args", "7007 1111\n", "getppid(7) notified, getppid(8) trapped")
}

func TestKernelVersion(t *testing.T) {
	for _, c := range []struct {
		rel          string
		major, minor int
	}{{"6.18.0-foo", 6, 18}, {"6.6", 6, 6}, {"5.15.0", 5, 15}, {"6.6rc1", 6, 6}, {"x", 0, 0}} {
		if ma, mi := kernelVersion(c.rel); ma != c.major || mi != c.minor {
			t.Errorf("kernelVersion(%q) = %d.%d, want %d.%d", c.rel, ma, mi, c.major, c.minor)
		}
	}
}
