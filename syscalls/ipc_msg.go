package syscalls

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/ipc"
	"herd/procview"
)

// System V message queues, emulated by the cluster's IPC service
// (herd/ipc; docs/architecture.md, "System V IPC"): every call is
// trapped; one on a queue this node owns that need not wait is answered
// on the tracer thread, anything else (a name to bind, another node's
// queue, a wait) runs asynchronously while the task is parked.

// SetIPC makes k emulate System V message queues with svc (before
// Table). Without it they are the kernel's, in the node's IPC namespace.
func (k *Kernel) SetIPC(svc *ipc.Service) { k.ipc = svc }

// ipcCaller is the process t belongs to, with its effective ids and
// groups (the credentials ipc_perm is checked against).
func ipcCaller(t task) (ipc.Caller, error) {
	c := ipc.Caller{PID: caller(t)}
	creds, err := t.Creds()
	if err != nil {
		return c, err
	}
	c.UID, c.GID = creds.EUID, creds.EGID
	if g, ok := t.(interface{ Groups() ([]uint32, error) }); ok {
		if c.Groups, err = g.Groups(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Groups are the thread's supplementary groups.
func (l liveTask) Groups() ([]uint32, error) {
	st, err := procview.ReadStatus(l.t.TID)
	if err != nil {
		return nil, err
	}
	return st.Groups, nil
}

// msgget(key, msgflg).
func (k *Kernel) msgget(t task) action {
	key, flags := int32(t.Arg(0)), int(int32(t.Arg(1)))
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	svc := k.ipc
	return asyncThen(func(ctx context.Context) (func(task) int64, error) {
		id, err := svc.MsgGet(ctx, key, flags, c)
		if err != nil {
			return nil, err
		}
		return func(task) int64 { return int64(id) }, nil
	})
}

// ipcDo carries out r: at once when it is a local queue's and need not
// wait, else asynchronously. done turns the reply into the call's result
// (writing into the task's memory), on the tracer thread.
func (k *Kernel) ipcDo(t task, r *ipc.Request, done func(t task, rep *ipc.Reply) int64) action {
	if rep, ok := k.ipc.TryLocal(r); ok {
		return ret(done(t, rep))
	}
	svc := k.ipc
	return asyncThen(func(ctx context.Context) (func(task) int64, error) {
		rep := svc.Do(ctx, r)
		return func(t task) int64 { return done(t, rep) }, nil
	})
}

// replyValue is a reply's value or its errno, as a call's result.
func replyValue(rep *ipc.Reply) int64 {
	if rep.Errno != 0 {
		return -int64(rep.Errno)
	}
	return rep.Value
}

// msgsnd(msqid, msgp, msgsz, msgflg).
func (k *Kernel) msgsnd(t task) action {
	id, msgp, size, flags := int(int32(t.Arg(0))), t.Arg(1), int64(t.Arg(2)), int(int32(t.Arg(3)))
	var hdr [8]byte
	if err := t.ReadMem(msgp, hdr[:]); err != nil {
		return fail(unix.EFAULT)
	}
	typ := int64(binary.LittleEndian.Uint64(hdr[:]))
	if size > int64(k.ipc.Limits().MsgMax) || size < 0 || id < 0 || typ < 1 {
		return fail(unix.EINVAL)
	}
	text := make([]byte, size)
	if err := t.ReadMem(msgp+8, text); err != nil {
		return fail(unix.EFAULT)
	}
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	r := &ipc.Request{Op: ipc.OpMsgSend, ID: id, Caller: c, Flags: flags, Type: typ, Text: text}
	return k.ipcDo(t, r, func(_ task, rep *ipc.Reply) int64 { return replyValue(rep) })
}

// msgrcv(msqid, msgp, msgsz, msgtyp, msgflg).
func (k *Kernel) msgrcv(t task) action {
	id, msgp, size := int(int32(t.Arg(0))), t.Arg(1), int64(t.Arg(2))
	typ, flags := int64(t.Arg(3)), int(int32(t.Arg(4)))
	if id < 0 || size < 0 {
		return fail(unix.EINVAL)
	}
	if flags&linux.MSG_COPY != 0 {
		if flags&linux.MSG_EXCEPT != 0 || flags&linux.IPC_NOWAIT == 0 {
			return fail(unix.EINVAL)
		}
		size = min(size, int64(k.ipc.Limits().MsgMax))
	}
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	r := &ipc.Request{Op: ipc.OpMsgRecv, ID: id, Caller: c, Flags: flags, Type: typ, Size: int(min(size, 1<<30))}
	return k.ipcDo(t, r, func(t task, rep *ipc.Reply) int64 { return storeMsg(t, msgp, rep) })
}

// storeMsg writes a received message at msgp (its type, then its text)
// and is the call's result.
func storeMsg(t task, msgp uintptr, rep *ipc.Reply) int64 {
	if rep.Errno != 0 {
		return -int64(rep.Errno)
	}
	buf := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(rep.Text)), uint64(rep.Type))
	if err := t.WriteMem(msgp, append(buf, rep.Text...)); err != nil {
		return -int64(unix.EFAULT)
	}
	return rep.Value
}

// msgctl(msqid, cmd, buf).
func (k *Kernel) msgctl(t task) action {
	id, cmd, buf := int(int32(t.Arg(0))), int(int32(t.Arg(1))), t.Arg(2)
	if id < 0 || cmd < 0 {
		return fail(unix.EINVAL)
	}
	switch cmd {
	case linux.IPC_INFO, linux.MSG_INFO:
		info, top := k.ipc.MsgInfo(cmd)
		if writeStruct(t, buf, &info) != nil {
			return fail(unix.EFAULT)
		}
		return ret(int64(top))
	case linux.IPC_STAT, linux.IPC_SET, linux.IPC_RMID:
	default:
		return fail(unix.EINVAL)
	}
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	r := &ipc.Request{Op: ipc.OpMsgCtl, ID: id, Caller: c, Cmd: cmd}
	if cmd == linux.IPC_SET {
		var ds linux.MsqidDS
		if readStruct(t, buf, &ds) != nil {
			return fail(unix.EFAULT)
		}
		r.Set = msgStatOf(&ds)
	}
	return k.ipcDo(t, r, func(t task, rep *ipc.Reply) int64 {
		if rep.Errno != 0 || cmd != linux.IPC_STAT {
			return replyValue(rep)
		}
		ds := msqidDS(id, rep.Stat)
		if writeStruct(t, buf, &ds) != nil {
			return -int64(unix.EFAULT)
		}
		return 0
	})
}

// msqidDS is st in the kernel's layout.
func msqidDS(id int, st *ipc.MsgStat) linux.MsqidDS {
	p := st.Perm
	return linux.MsqidDS{
		MsgPerm: linux.IPCPerm{Key: uint32(p.Key), UID: p.UID, GID: p.GID, CUID: p.CUID, CGID: p.CGID,
			Mode: p.Mode},
		MsgStime: linux.TimeT(st.STime), MsgRtime: linux.TimeT(st.RTime), MsgCtime: linux.TimeT(st.CTime),
		MsgCbytes: uint64(st.CBytes), MsgQnum: uint64(st.QNum), MsgQbytes: uint64(st.QBytes),
		MsgLspid: int32(st.LSPID), MsgLrpid: int32(st.LRPID),
	}
}

// msgStatOf is what IPC_SET takes of ds.
func msgStatOf(ds *linux.MsqidDS) *ipc.MsgStat {
	return &ipc.MsgStat{
		Perm:   ipc.Perm{UID: ds.MsgPerm.UID, GID: ds.MsgPerm.GID, Mode: ds.MsgPerm.Mode},
		QBytes: int(ds.MsgQbytes),
	}
}
