package syscalls

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ProcCallFrom runs c, a call a process of another node made on PID
// c.PID, if that PID runs here (see proccall.go). The node runs the call
// itself, with every privilege, so the permission checks Linux makes for
// the caller are made here first, against the target's credentials as
// the kernel has them (/proc/PID/status: right for a thread too).
// forward names the node a process that left this one went to. Any
// goroutine: it reads the Space (which locks) and the kernel only.
func (k *Kernel) ProcCallFrom(c ProcCall) (res ProcResult, forward string, err error) {
	spec, ok := procSpecs[c.Nr]
	if !ok {
		return res, "", unix.ENOSYS
	}
	if c.PID <= herdInitMaxTID {
		return res, "", unix.ESRCH
	}
	if p, ok := k.procs.Lookup(c.PID); ok && (p.Stub || p.Node != k.node) {
		if p.Node == "" || p.Node == k.node || p.Virtual {
			return res, "", unix.ESRCH
		}
		return res, p.Node, nil
	} else if !ok && k.Moved != nil {
		if node, moved := k.Moved(c.PID); moved {
			return res, node, nil
		}
	}
	target, err := taskCreds(c.PID)
	if err != nil {
		return res, "", unix.ESRCH
	}
	if err := mayProcCall(c, target); err != nil {
		return res, "", err
	}
	return runProcCall(c, spec)
}

// taskCredsOf are a task's real, effective and saved ids.
type taskCredsOf struct {
	uid, gid [3]uint32
}

// taskCreds reads task tid's ids from /proc/TID/status.
func taskCreds(tid int) (taskCredsOf, error) {
	var tc taskCredsOf
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return tc, err
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		var ids *[3]uint32
		switch key {
		case "Uid":
			ids = &tc.uid
		case "Gid":
			ids = &tc.gid
		default:
			continue
		}
		fields := strings.Fields(val)
		for i := 0; i < 3 && i < len(fields); i++ {
			v, err := strconv.ParseUint(fields[i], 10, 32)
			if err != nil {
				return tc, fmt.Errorf("/proc/%d/status: %s: %w", tid, key, err)
			}
			ids[i] = uint32(v)
		}
		found++
	}
	if found != 2 {
		return tc, fmt.Errorf("/proc/%d/status: no Uid and Gid", tid)
	}
	return tc, sc.Err()
}

// hasCap reports whether caps holds capability cap.
func hasCap(caps uint64, cap int) bool { return caps&(1<<uint(cap)) != 0 }

// mayProcCall is Linux's permission check of c for its caller against
// target (kernel/sys.c set_one_prio and prlimit, kernel/sched's
// user_check_sched_setscheduler): the calls that only read need none.
func mayProcCall(c ProcCall, target taskCredsOf) error {
	switch c.Nr {
	case unix.SYS_SETPRIORITY:
		return maySetPriority(c, target)
	case unix.SYS_SCHED_SETSCHEDULER, unix.SYS_SCHED_SETPARAM:
		return maySetSched(c, target)
	case unix.SYS_PRLIMIT64:
		return mayPrlimit(c, target)
	}
	return nil
}

// maySetPriority: the caller's effective uid is the target's real or
// effective one, or it has CAP_SYS_NICE (else EPERM); raising the
// priority beyond the target's RLIMIT_NICE needs CAP_SYS_NICE (EACCES).
func maySetPriority(c ProcCall, t taskCredsOf) error {
	nice := min(max(int(int32(c.Args[2])), -20), 19)
	capNice := hasCap(c.Caps, unix.CAP_SYS_NICE)
	if c.Creds.EUID != t.uid[0] && c.Creds.EUID != t.uid[1] && !capNice {
		return unix.EPERM
	}
	if capNice {
		return nil
	}
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, c.PID) // 20 - nice
	if err != nil {
		return err
	}
	if nice < 20-raw && !niceAllowed(c.PID, nice) {
		return unix.EACCES
	}
	return nil
}

// niceAllowed is the kernel's is_nice_reduction: pid's RLIMIT_NICE
// allows nice.
func niceAllowed(pid, nice int) bool {
	var rl unix.Rlimit
	if unix.Prlimit(pid, unix.RLIMIT_NICE, nil, &rl) != nil {
		return false
	}
	return uint64(20-nice) <= rl.Cur
}

// maySetSched: the caller owns the target (effective uid equal to its
// effective or real one) or has CAP_SYS_NICE (else EPERM); without
// CAP_SYS_NICE, a real-time policy or priority needs the target's
// RLIMIT_RTPRIO, and leaving SCHED_IDLE its RLIMIT_NICE.
func maySetSched(c ProcCall, t taskCredsOf) error {
	if hasCap(c.Caps, unix.CAP_SYS_NICE) {
		return nil
	}
	if c.Creds.EUID != t.uid[1] && c.Creds.EUID != t.uid[0] {
		return unix.EPERM
	}
	cur, _, e := unix.RawSyscall(unix.SYS_SCHED_GETSCHEDULER, uintptr(c.PID), 0, 0)
	if e != 0 {
		return e
	}
	curPolicy := int(cur) &^ unix.SCHED_RESET_ON_FORK
	policy := curPolicy
	if c.Nr == unix.SYS_SCHED_SETSCHEDULER {
		policy = int(int32(c.Args[1])) &^ unix.SCHED_RESET_ON_FORK
	}
	if len(c.In) != sizeSchedParam {
		return nil // the kernel's EINVAL
	}
	prio := int(int32(binary.LittleEndian.Uint32(c.In)))
	switch {
	case policy == unix.SCHED_FIFO || policy == unix.SCHED_RR:
		var rl unix.Rlimit
		if err := unix.Prlimit(c.PID, unix.RLIMIT_RTPRIO, nil, &rl); err != nil {
			return err
		}
		var p [sizeSchedParam]byte
		if _, _, e := unix.RawSyscall(unix.SYS_SCHED_GETPARAM, uintptr(c.PID), uintptr(unsafe.Pointer(&p[0])), 0); e != 0 {
			return e
		}
		curPrio := uint64(binary.LittleEndian.Uint32(p[:]))
		if policy != curPolicy && rl.Cur == 0 || uint64(prio) > max(curPrio, rl.Cur) {
			return unix.EPERM
		}
	case curPolicy == unix.SCHED_IDLE && policy != unix.SCHED_IDLE:
		raw, err := unix.Getpriority(unix.PRIO_PROCESS, c.PID)
		if err != nil {
			return err
		}
		if !niceAllowed(c.PID, 20-raw) {
			return unix.EPERM
		}
	}
	return nil
}

// mayPrlimit: the caller's real ids are all of the target's ids, or it
// has CAP_SYS_RESOURCE (else EPERM); raising a hard limit needs
// CAP_SYS_RESOURCE.
func mayPrlimit(c ProcCall, t taskCredsOf) error {
	capRes := hasCap(c.Caps, unix.CAP_SYS_RESOURCE)
	cr := c.Creds
	same := cr.RUID == t.uid[0] && cr.RUID == t.uid[1] && cr.RUID == t.uid[2] &&
		cr.RGID == t.gid[0] && cr.RGID == t.gid[1] && cr.RGID == t.gid[2]
	if !same && !capRes {
		return unix.EPERM
	}
	if capRes || len(c.In) != sizeRlimit {
		return nil
	}
	var old unix.Rlimit
	if unix.Prlimit(c.PID, int(int32(c.Args[1])), nil, &old) != nil {
		return nil // a bad resource: the kernel's EINVAL
	}
	if binary.LittleEndian.Uint64(c.In[8:]) > old.Max {
		return unix.EPERM
	}
	return nil
}

// runProcCall makes call c here, with c.In and a buffer for Out in place
// of the caller's pointers.
func runProcCall(c ProcCall, spec procSpec) (ProcResult, string, error) {
	var res ProcResult
	args := c.Args
	var in, out []byte
	if spec.in >= 0 && args[spec.in] != 0 {
		if len(c.In) != spec.inN {
			return res, "", unix.EINVAL
		}
		in = append([]byte(nil), c.In...)
		args[spec.in] = uint64(uintptr(unsafe.Pointer(&in[0])))
	}
	if spec.out >= 0 && args[spec.out] != 0 {
		out = make([]byte, spec.outN)
		args[spec.out] = uint64(uintptr(unsafe.Pointer(&out[0])))
	}
	r, _, e := unix.Syscall6(uintptr(c.Nr), uintptr(args[0]), uintptr(args[1]), uintptr(args[2]),
		uintptr(args[3]), uintptr(args[4]), uintptr(args[5]))
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	if e != 0 {
		return res, "", e
	}
	res.Ret, res.Out = int64(r), out
	return res, "", nil
}
