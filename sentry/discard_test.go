package sentry

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"herd/procview"
)

func init() {
	// sigwaiter ignores SIGUSR2, blocks SIGWINCH and sleeps in
	// rt_sigtimedwait for SIGURG (not blocked before the call).
	programs["sigwaiter"] = `#include <signal.h>
#include <time.h>
int main(void) {
	sigset_t b, w;
	signal(SIGUSR2, SIG_IGN);
	sigemptyset(&b); sigaddset(&b, SIGWINCH);
	sigprocmask(SIG_BLOCK, &b, 0);
	sigemptyset(&w); sigaddset(&w, SIGURG);
	struct timespec ts = { 60, 0 };
	sigtimedwait(&w, 0, &ts);
	return 0;
}`
}

// Task.Discards answers as the kernel's sig_ignored would for the task
// were it not traced.
func TestDiscards(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("reading another task's /proc/<tid>/syscall and memory needs root")
	}
	cmd := exec.Command(buildProgram(t, "sigwaiter"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		sc, err := procview.ReadSyscall(pid)
		if err == nil && sc.Nr == unix.SYS_RT_SIGTIMEDWAIT {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigwaiter never slept in rt_sigtimedwait: %+v, %v", sc, err)
		}
	}
	task := &Task{TID: pid}
	for sig, want := range map[unix.Signal]bool{
		unix.SIGUSR2:  true,  // SIG_IGN
		unix.SIGCHLD:  true,  // SIG_DFL, ignored by default
		unix.SIGWINCH: false, // ignored by default, but blocked
		unix.SIGURG:   false, // ignored by default, but waited for
		unix.SIGUSR1:  false, // SIG_DFL terminates
		unix.SIGCONT:  false, // never: it continues a stopped group
		unix.SIGKILL:  false,
		0:             false,
	} {
		if got := task.Discards(int(sig)); got != want {
			t.Errorf("Discards(%v) = %v, want %v", sig, got, want)
		}
	}
	if gone := (&Task{TID: 1 << 22}).Discards(int(unix.SIGCHLD)); gone {
		t.Errorf("a task that does not exist discards SIGCHLD")
	}
}
