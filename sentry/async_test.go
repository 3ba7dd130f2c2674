package sentry

// Async and AsyncThen: a function off the tracer thread whose answer
// completes the call, with EINTR and restart as a parked call has them.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	programs["getcpu"] = `#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
	unsigned cpu = 0, node = 0;
	long r = syscall(SYS_getcpu, &cpu, &node, 0);
	printf("r=%ld cpu=%u\n", r, cpu);
	return 0;
}`
	// race: getppid(i) must return i or fail with EINTR, while SIGALRM
	// interrupts calls at a high rate (no SA_RESTART).
	programs["race"] = `#define _GNU_SOURCE
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/syscall.h>
static void h(int s) { (void)s; }
int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 700}, {0, 700}}, off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	int ok = 0, intr = 0;
	for (long i = 1; i <= 1000; i++) {
		errno = 0;
		long r = syscall(SYS_getppid, i);
		if (r == i) ok++;
		else if (r == -1 && errno == EINTR) intr++;
		else { printf("call %ld got %ld errno %d\n", i, r, errno); return 1; }
	}
	setitimer(ITIMER_REAL, &off, NULL);
	printf("done completed %d interrupted %d\n", ok, intr);
	return 0;
}`
	// killed: a thread SIGKILLs the process while getppid is under way.
	programs["killed"] = `#include <stdio.h>
#include <signal.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>
static void *k(void *a) { (void)a; usleep(100000); kill(getpid(), SIGKILL); return 0; }
int main(void) {
	pthread_t th;
	pthread_create(&th, 0, k, 0);
	syscall(SYS_getppid);
	printf("not killed\n");
	return 0;
}`
}

func trapRow(nr uintptr, name string, h Handler) Row {
	return Row{Nr: nr, Name: name, Disp: Trap, Note: "test", Handler: h}
}

// untilCancelled is an async function that ends only when its call is
// interrupted; it then answers anyway, late, to show the answer dropped.
func untilCancelled(late int64) func(ctx context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
		return late, nil
	}
}

// extraScenario makes the tables of the async and register scenarios.
func extraScenario(name string, sp **Sentry, tb *Table) (check func() int, ok bool) {
	switch name {
	case "async":
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			return Async(func(ctx context.Context) (int64, error) {
				time.Sleep(20 * time.Millisecond)
				return 88, nil
			})
		}))
	case "async-errno":
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			return Async(func(ctx context.Context) (int64, error) { return 0, unix.EXDEV })
		}))
	case "async-then":
		// The answer is written into the task's memory on the tracer
		// thread, then the call returns.
		tb.Add(trapRow(unix.SYS_GETCPU, "getcpu", func(t *Task) Action {
			return AsyncThen(func(ctx context.Context) (func(*Task) int64, error) {
				return func(t *Task) int64 {
					if err := t.WriteInt32(t.Arg(0), 1234); err != nil {
						return -int64(unix.EFAULT)
					}
					return 0
				}, nil
			})
		}))
	case "async-eintr":
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			return Async(untilCancelled(999))
		}))
	case "async-restart":
		// The first call runs until a signal interrupts it and answers
		// 999 late; the restarted call is answered 55 and must not see
		// that 999.
		calls := 0
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			if calls++; calls == 1 {
				return Async(untilCancelled(999))
			}
			return Async(func(ctx context.Context) (int64, error) {
				time.Sleep(200 * time.Millisecond)
				return 55, nil
			})
		}))
	case "async-restart-nointr":
		// As async-restart, with AsyncRestart: the signal's handler
		// (no SA_RESTART) runs, and the call is made again, not EINTR.
		calls := 0
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			if calls++; calls == 1 {
				f := untilCancelled(999)
				return AsyncRestart(func(ctx context.Context) (func(*Task) int64, error) {
					v, err := f(ctx)
					return func(*Task) int64 { return v }, err
				})
			}
			return Return(55)
		}))
	case "async-blocked":
		// With the task's signals blocked, the alarm that comes while
		// the call waits does not interrupt it: one call, answered 66
		// (a second call would be answered 11), and the mask restored.
		calls := 0
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			if calls++; calls > 1 {
				return Return(11)
			}
			restore, err := t.BlockSignals()
			if err != nil {
				return Return(-1)
			}
			return AsyncRestart(func(ctx context.Context) (func(*Task) int64, error) {
				time.Sleep(1500 * time.Millisecond)
				return func(*Task) int64 { restore(); return 66 }, nil
			})
		}))
	case "async-again":
		// A then that answers -ERESTARTNOINTR makes the task make the
		// call again, without a signal.
		calls := 0
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			if calls++; calls == 1 {
				return AsyncRestart(func(ctx context.Context) (func(*Task) int64, error) {
					return func(*Task) int64 { return -int64(ERESTARTNOINTR) }, nil
				})
			}
			return Return(77)
		}))
	case "async-race":
		tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
			i := int64(t.Arg(0))
			return Async(func(ctx context.Context) (int64, error) {
				select {
				case <-time.After(time.Duration(rand.IntN(400)) * time.Microsecond):
				case <-ctx.Done():
				}
				return i, nil // even when cancelled: must be dropped
			})
		}))
	case "async-killed":
		return asyncKilled(sp, tb), true
	case "xstate":
		xstateScenario(tb)
	default:
		return notifyScenario(name, sp, tb)
	}
	return nil, true
}

// asyncKilled: the task dies while its function runs. The function's
// context must be cancelled, and its answer handled (dropped) on the
// tracer thread without harm.
func asyncKilled(sp **Sentry, tb *Table) func() int {
	cancelled := make(chan struct{}, 1)
	tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
		return Async(func(ctx context.Context) (int64, error) {
			<-ctx.Done()
			cancelled <- struct{}{}
			return 7, nil
		})
	}))
	return func() int {
		select {
		case <-cancelled:
		case <-time.After(20 * time.Second):
			fmt.Fprintln(os.Stderr, "the dead task's async function was never cancelled")
			return 101
		}
		(*sp).inflight.Wait()
		// The tracer must still serve posted work.
		done := make(chan struct{})
		(*sp).Post(func() { close(done) })
		<-done
		return 0
	}
}

// TestAsync runs each async scenario; want is a prefix of the output
// (the whole output when exact).
func TestAsync(t *testing.T) {
	for _, c := range []struct {
		scenario, prog, want string
		exact                bool
		code                 int
	}{
		{"async", "ppid", "getppid=88 errno=0 ", false, 0},
		{"async-errno", "ppid", "getppid=-1 errno=EXDEV ", false, 0},
		// then wrote 1234 into the task's memory on the tracer thread.
		{"async-then", "getcpu", "r=0 cpu=1234\n", true, 0},
		{"async-eintr", "eintr", "r=-1 errno=EINTR\n", true, 0},
		// The restarted call's answer, not the late one of the first.
		{"async-restart", "restart", "r=55 errno=0\n", true, 0},
		// An uninterruptible call (execve's placement) restarts even
		// without SA_RESTART, and when its then asks for it.
		{"async-restart-nointr", "eintr", "r=55 errno=0\n", true, 0},
		{"async-again", "ppid", "getppid=77 errno=0 ", false, 0},
		{"async-blocked", "eintr", "r=66 errno=0\n", true, 0},
		// Completions racing interruptions: every call gets its own
		// answer or EINTR, never another call's, and none hangs.
		{"async-race", "race", "done ", false, 0},
		// The task dies while its function runs: the function is
		// cancelled, its answer dropped, the tracer unharmed.
		{"async-killed", "killed", "", true, 128 + int(unix.SIGKILL)},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			out, code := scenario(t, c.scenario, buildProgram(t, c.prog))
			t.Log(strings.TrimSpace(out))
			if code != c.code || !strings.HasPrefix(out, c.want) || (c.exact && out != c.want) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out, c.code, c.want)
			}
		})
	}
}
