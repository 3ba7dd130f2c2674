package syscalls

import (
	"context"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/ipc"
)

func ipcKernel() *Kernel {
	k := newKernel("a", nil, nil, nil)
	k.SetIPC(ipc.NewService("a", ipc.DefaultLimits))
	return k
}

// ipcFinish completes a: an async action's function and then run now, as
// the sentry would once it answered.
func ipcFinish(t *testing.T, tk task, a action) int64 {
	t.Helper()
	switch a.kind {
	case actReturn:
		return a.val
	case actAsync:
		then, err := a.async(context.Background())
		if err != nil {
			return -int64(errno(err))
		}
		if then == nil {
			return 0
		}
		return then(tk)
	}
	t.Fatalf("action kind %d, want a result or async", a.kind)
	return 0
}

// putMsg writes a msgbuf (type, text) at addr of f.
func putMsg(f *fakeTask, addr uintptr, typ int64, text string) {
	binary.NativeEndian.PutUint64(f.mem[addr-memBase:], uint64(typ))
	copy(f.mem[addr-memBase+8:], text)
}

func TestMsgHandlers(t *testing.T) {
	k := ipcKernel()
	f := newTask(4097, unix.SYS_MSGGET, 0, linux.IPC_CREAT|0o600)
	id := ipcFinish(t, f, k.msgget(f))
	if id < 0 {
		t.Fatalf("msgget: %d", id)
	}
	buf := uintptr(memBase + 0x100)
	putMsg(f, buf, 7, "hello")
	f = newTaskMem(f, unix.SYS_MSGSND, uintptr(id), buf, 5, 0)
	a := k.msgsnd(f)
	if a.kind != actReturn || a.val != 0 {
		t.Fatalf("msgsnd to a local queue: kind %d val %d, want an answer at once", a.kind, a.val)
	}
	// A receive with no message of its type waits (async); one with a
	// message is answered at once and written at msgp.
	f = newTaskMem(f, unix.SYS_MSGRCV, uintptr(id), buf+0x100, 64, 3, 0)
	if a := k.msgrcv(f); a.kind != actAsync {
		t.Fatalf("msgrcv of an absent type: kind %d, want async", a.kind)
	}
	f = newTaskMem(f, unix.SYS_MSGRCV, uintptr(id), buf+0x100, 64, 7, 0)
	if a := k.msgrcv(f); a.kind != actReturn || a.val != 5 || f.u64(buf+0x100) != 7 || string(f.mem[buf+0x108-memBase:][:5]) != "hello" {
		t.Fatalf("msgrcv: kind %d val %d, memory %q", a.kind, a.val, f.mem[buf+0x100-memBase:][:13])
	}
	// IPC_STAT writes msqid_ds.
	f = newTaskMem(f, unix.SYS_MSGCTL, uintptr(id), linux.IPC_STAT, buf)
	if r := ipcFinish(t, f, k.msgctl(f)); r != 0 || f.u32(buf+4) != 0 || f.u64(buf+0x58) != linux.MSGMNB {
		t.Fatalf("IPC_STAT: %d, uid %d qbytes %d", r, f.u32(buf+4), f.u64(buf+0x58))
	}
	f = newTaskMem(f, unix.SYS_MSGCTL, uintptr(id), linux.IPC_RMID, 0)
	if r := ipcFinish(t, f, k.msgctl(f)); r != 0 {
		t.Fatalf("IPC_RMID: %d", r)
	}
}

func TestMsgHandlerErrors(t *testing.T) {
	k := ipcKernel()
	buf := uintptr(memBase + 0x100)
	cases := []struct {
		name string
		h    handler
		f    *fakeTask
		want unix.Errno
	}{
		{"msgsnd bad msgp", k.msgsnd, newTask(4097, unix.SYS_MSGSND, 0, badAddr, 1, 0), unix.EFAULT},
		{"msgsnd type 0", k.msgsnd, newTask(4097, unix.SYS_MSGSND, 0, buf, 1, 0), unix.EINVAL},
		{"msgrcv negative id", k.msgrcv, newTask(4097, unix.SYS_MSGRCV, ^uintptr(0), buf, 1, 0, 0), unix.EINVAL},
		{"msgrcv MSG_COPY blocking", k.msgrcv, newTask(4097, unix.SYS_MSGRCV, 0, buf, 1, 0, linux.MSG_COPY), unix.EINVAL},
		{"msgctl unknown cmd", k.msgctl, newTask(4097, unix.SYS_MSGCTL, 0, 77, buf), unix.EINVAL},
		{"msgctl IPC_INFO bad buf", k.msgctl, newTask(4097, unix.SYS_MSGCTL, 0, linux.IPC_INFO, badAddr), unix.EFAULT},
		{"msgsnd unknown id", k.msgsnd, withMsg(newTask(4097, unix.SYS_MSGSND, 5, buf, 1, 0), buf), unix.EINVAL},
	}
	for _, c := range cases {
		if r := ipcFinish(t, c.f, c.h(c.f)); r != -int64(c.want) {
			t.Errorf("%s: %d, want %v", c.name, r, c.want)
		}
	}
}

// newTaskMem is a new call of f's thread, keeping its memory.
func newTaskMem(f *fakeTask, sysno int, args ...uintptr) *fakeTask {
	n := newTask(f.tid, sysno, args...)
	n.mem = f.mem
	return n
}

func withMsg(f *fakeTask, addr uintptr) *fakeTask {
	putMsg(f, addr, 1, "x")
	return f
}
