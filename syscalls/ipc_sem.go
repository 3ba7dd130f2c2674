package syscalls

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/ipc"
)

// System V semaphores, emulated by the cluster's IPC service as message
// queues are (ipc_msg.go).

// semget(key, nsems, semflg).
func (k *Kernel) semget(t task) action {
	key, nsems, flags := int32(t.Arg(0)), int(int32(t.Arg(1))), int(int32(t.Arg(2)))
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	svc := k.ipc
	return asyncThen(func(ctx context.Context) (func(task) int64, error) {
		id, err := svc.SemGet(ctx, key, nsems, flags, c)
		if err != nil {
			return nil, err
		}
		return func(task) int64 { return int64(id) }, nil
	})
}

// semop(semid, sops, nsops) and semtimedop(semid, sops, nsops, timeout).
func (k *Kernel) semop(t task) action {
	id, sopsp, nsops := int(int32(t.Arg(0))), t.Arg(1), int64(t.Arg(2))
	var timeout *int64
	badTimeout := false
	if t.Sysno() == unix.SYS_SEMTIMEDOP && t.Arg(3) != 0 {
		var ts unix.Timespec
		if readStruct(t, t.Arg(3), &ts) != nil {
			return fail(unix.EFAULT)
		}
		ns := ts.Nano()
		timeout = &ns
		badTimeout = ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9
	}
	if nsops < 1 || id < 0 {
		return fail(unix.EINVAL)
	}
	if nsops > linux.SEMOPM {
		return fail(unix.E2BIG)
	}
	raw := make([]byte, 6*nsops)
	if t.ReadMem(sopsp, raw) != nil {
		return fail(unix.EFAULT)
	}
	if badTimeout {
		return fail(unix.EINVAL)
	}
	sops := make([]ipc.SemOp, nsops)
	for i := range sops {
		b := raw[6*i:]
		sops[i] = ipc.SemOp{Num: int(binary.LittleEndian.Uint16(b)), Op: int(int16(binary.LittleEndian.Uint16(b[2:]))),
			Flg: int(int16(binary.LittleEndian.Uint16(b[4:])))}
	}
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	r := &ipc.Request{Op: ipc.OpSemOp, ID: id, Caller: c, Sops: sops, Timeout: timeout}
	return k.ipcDo(t, r, func(_ task, rep *ipc.Reply) int64 {
		if rep.Errno != 0 {
			return -int64(rep.Errno)
		}
		return 0
	})
}

// semctl(semid, semnum, cmd, arg).
func (k *Kernel) semctl(t task) action {
	id, num, cmd, arg := int(int32(t.Arg(0))), int(int32(t.Arg(1))), int(int32(t.Arg(2))), t.Arg(3)
	if id < 0 || cmd < 0 {
		return fail(unix.EINVAL)
	}
	switch cmd {
	case linux.IPC_INFO, linux.SEM_INFO:
		info, top := k.ipc.SemInfo(cmd)
		if writeStruct(t, arg, &info) != nil {
			return fail(unix.EFAULT)
		}
		return ret(int64(top))
	case linux.IPC_STAT, linux.IPC_SET, linux.IPC_RMID, linux.GETVAL, linux.GETPID, linux.GETNCNT,
		linux.GETZCNT, linux.GETALL, linux.SETVAL, linux.SETALL:
	default:
		return fail(unix.EINVAL)
	}
	c, err := ipcCaller(t)
	if err != nil {
		return fail(unix.ESRCH)
	}
	r := &ipc.Request{Op: ipc.OpSemCtl, ID: id, Caller: c, Cmd: cmd, Num: num}
	if a, done := k.semctlArgs(t, r, arg); done {
		return a
	}
	return k.ipcDo(t, r, func(t task, rep *ipc.Reply) int64 { return semctlResult(t, cmd, arg, rep) })
}

// semctlArgs reads what cmd takes from the caller; done if that ends the
// call (with a).
func (k *Kernel) semctlArgs(t task, r *ipc.Request, arg uintptr) (a action, done bool) {
	switch r.Cmd {
	case linux.SETVAL:
		r.Val = int(int32(arg))
		if r.Val > linux.SEMVMX || r.Val < 0 {
			return fail(unix.ERANGE), true
		}
	case linux.IPC_SET:
		var ds linux.SemidDS
		if readStruct(t, arg, &ds) != nil {
			return fail(unix.EFAULT), true
		}
		r.SemSet = &ipc.SemStat{Perm: ipc.Perm{UID: ds.SemPerm.UID, GID: ds.SemPerm.GID, Mode: ds.SemPerm.Mode}}
	case linux.SETALL:
		n, ok := k.ipc.SemSize(r.ID)
		if !ok {
			return fail(unix.EINVAL), true
		}
		raw := make([]byte, 2*n)
		if t.ReadMem(arg, raw) != nil {
			return fail(unix.EFAULT), true
		}
		r.Vals = make([]int, n)
		for i := range r.Vals {
			r.Vals[i] = int(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	return action{}, false
}

// semctlResult writes what cmd gives into the caller and is the result.
func semctlResult(t task, cmd int, arg uintptr, rep *ipc.Reply) int64 {
	if rep.Errno != 0 {
		return -int64(rep.Errno)
	}
	switch cmd {
	case linux.GETALL:
		raw := make([]byte, 2*len(rep.Vals))
		for i, v := range rep.Vals {
			binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
		}
		if t.WriteMem(arg, raw) != nil {
			return -int64(unix.EFAULT)
		}
	case linux.IPC_STAT:
		p := rep.Sem.Perm
		ds := linux.SemidDS{
			SemPerm:  linux.IPCPerm{Key: uint32(p.Key), UID: p.UID, GID: p.GID, CUID: p.CUID, CGID: p.CGID, Mode: p.Mode},
			SemOTime: linux.TimeT(rep.Sem.OTime), SemCTime: linux.TimeT(rep.Sem.CTime), SemNSems: uint64(rep.Sem.NSems),
		}
		if writeStruct(t, arg, &ds) != nil {
			return -int64(unix.EFAULT)
		}
	}
	return rep.Value
}

// ipcExited applies the SEM_UNDO adjustments of process pid, which exited
// here, before its exit is recorded (then runs; a Linux parent's wait sees
// them applied): at once when it holds none, else on a goroutine (the
// sets' owners may be other nodes), then then on the tracer thread. It
// reports whether then was deferred.
func (k *Kernel) ipcExited(pid int, then func()) bool {
	if k.ipc == nil || !k.ipc.HasUndo(pid) {
		return false
	}
	svc, s := k.ipc, k.s
	go func() {
		svc.Exited(pid)
		s.Post(then)
	}()
	return true
}
