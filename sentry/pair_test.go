package sentry

import (
	"os/exec"
	"runtime"
	"testing"

	"herd/procview"

	"golang.org/x/sys/unix"
)

// stoppedTracee starts sleep, seizes it from the calling (locked) thread
// and waits for its interrupt stop.
func stoppedTracee(t *testing.T) int {
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	pid := c.Process.Pid
	t.Cleanup(func() { _ = unix.Kill(pid, unix.SIGKILL); _, _ = unix.Wait4(pid, nil, unix.WALL, nil) })
	if err := ptraceSeize(pid); err != nil {
		t.Fatalf("seize: %v", err)
	}
	if err := ptraceInterrupt(pid); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		t.Fatalf("wait for the interrupt stop: %v %v", ws, err)
	}
	return pid
}

// procState is the state letter of pid in /proc ('t': a ptrace stop).
func procState(t *testing.T, pid int) byte {
	st, err := procview.ReadStatus(pid)
	if err != nil {
		t.Fatalf("read status of %d: %v", pid, err)
	}
	return st.State
}

// The pair's restarts reach the kernel as held: each task gets its own
// request and signal, in order, and each call reports its own result (an
// invalid signal is EIO and leaves that task stopped).
func TestFlushPairRestartsEachAsHeld(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, _ := fabricated(t)
	a := &Task{TID: stoppedTracee(t), s: s}
	b := &Task{TID: stoppedTracee(t), s: s}
	s.pair.holding = true
	if !s.pair.hold(a, unix.PTRACE_CONT, 0) || !s.pair.hold(b, unix.PTRACE_CONT, 1000) {
		t.Fatal("the pair did not hold two restarts")
	}
	if s.pair.hold(a, unix.PTRACE_CONT, 0) {
		t.Fatal("the pair held a third restart")
	}
	s.pair.holding = false
	ret := &s.pair.raw.ret
	s.flushPair()
	if s.pair.n != 0 || rawErr(ret[0]) != nil || rawErr(ret[1]) != unix.EIO {
		t.Fatalf("pair after flush: n=%d results %v, %v; want nil, EIO", s.pair.n, rawErr(ret[0]), rawErr(ret[1]))
	}
	if sa, sb := procState(t, a.TID), procState(t, b.TID); sa == 't' || sb != 't' {
		t.Fatalf("states after flush: %c, %c; want the first running, the second stopped", sa, sb)
	}
}
