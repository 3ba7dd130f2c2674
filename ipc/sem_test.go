package ipc

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

func semop(s *Service, id int, c Caller, ops ...SemOp) *Reply {
	return s.Do(context.Background(), &Request{Op: OpSemOp, ID: id, Caller: c, Sops: ops})
}

func semval(t *testing.T, s *Service, id, num int) int64 {
	t.Helper()
	rep := s.Do(context.Background(), &Request{Op: OpSemCtl, ID: id, Caller: root, Cmd: linux.GETVAL, Num: num})
	if rep.Errno != 0 {
		t.Fatalf("GETVAL: %v", rep.Errno)
	}
	return rep.Value
}

func TestSemAtomicAndBlocking(t *testing.T) {
	svcs, _ := cluster(2)
	a, b := svcs[0], svcs[1]
	id, err := a.SemGet(context.Background(), linux.IPC_PRIVATE, 2, 0o666, alice)
	if err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "all or none", semop(a, id, alice, SemOp{Num: 0, Op: 1}, SemOp{Num: 1, Op: -1, Flg: linux.IPC_NOWAIT}), unix.EAGAIN)
	if v := semval(t, a, id, 0); v != 0 {
		t.Fatalf("semaphore 0 is %d after a refused semop, want 0", v)
	}
	wantErrno(t, "EFBIG", semop(a, id, alice, SemOp{Num: 2, Op: 1}), unix.EFBIG)
	// A decrement on b waits for a's increment, counted in GETNCNT.
	got := make(chan *Reply)
	go func() { got <- semop(b, id, bob, SemOp{Num: 1, Op: -2}) }()
	for a.Do(context.Background(), &Request{Op: OpSemCtl, ID: id, Caller: root, Cmd: linux.GETNCNT, Num: 1}).Value != 1 {
		time.Sleep(time.Millisecond)
	}
	semop(a, id, alice, SemOp{Num: 1, Op: 2})
	wantErrno(t, "woken decrement", <-got, 0)
	// A timeout gives EAGAIN.
	zero := int64(time.Millisecond)
	rep := b.Do(context.Background(), &Request{Op: OpSemOp, ID: id, Caller: bob, Sops: []SemOp{{Num: 1, Op: -1}}, Timeout: &zero})
	wantErrno(t, "timed out", rep, unix.EAGAIN)
}

// SEM_UNDO adjustments are applied when their process exits on another
// node than the set's, and when that node is lost.
func TestSemUndo(t *testing.T) {
	svcs, _ := cluster(2)
	a, b := svcs[0], svcs[1]
	id, err := a.SemGet(context.Background(), 77, 1, linux.IPC_CREAT|0o666, alice)
	if err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "undoable up", semop(b, id, bob, SemOp{Op: 3, Flg: linux.SEM_UNDO}), 0)
	if !b.HasUndo(bob.PID) || a.HasUndo(bob.PID) {
		t.Fatalf("HasUndo on b %v, on a %v: want the caller's node only", b.HasUndo(bob.PID), a.HasUndo(bob.PID))
	}
	b.Exited(bob.PID)
	if v := semval(t, a, id, 0); v != 0 {
		t.Fatalf("after the exit: %d, want 0", v)
	}
	wantErrno(t, "undoable up again", semop(b, id, bob, SemOp{Op: 4, Flg: linux.SEM_UNDO}), 0)
	semop(a, id, alice, SemOp{Op: 1})
	a.NodeLost("b")
	if v := semval(t, a, id, 0); v != 1 {
		t.Fatalf("after b's loss: %d, want 1", v)
	}
}
