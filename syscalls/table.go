package syscalls

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/seccomp"

	"herd/pidspace"
	"herd/sentry"
)

// Table returns the syscall table with k's handlers. Calls not listed run
// natively: memory, files, futexes, scheduling, getpid and gettid (cluster
// PIDs are the kernel's own) cost nothing under herd.
func (k *Kernel) Table() *sentry.Table {
	tb := sentry.NewTable()
	trap := func(nr uintptr, name string, h handler, args []sentry.ArgKind, note string) {
		tb.Add(sentry.Row{Nr: nr, Name: name, Disp: sentry.Trap, Handler: live(h), Args: args, Note: note})
	}
	trapIf := func(nr uintptr, name string, m seccomp.SyscallRule, when string, h handler, args []sentry.ArgKind, note string) {
		tb.Add(sentry.Row{Nr: nr, Name: name, Disp: sentry.Trap, Match: m, MatchNote: when, Handler: live(h), Args: args, Note: note})
	}
	// answer rows are answered through seccomp user notification where
	// the sentry uses it (no ptrace stop), by the same handler as trap's
	// otherwise: h must be a pure answer from the process model.
	answer := func(nr uintptr, name string, h handler, args []sentry.ArgKind, note string) {
		tb.Add(sentry.Row{Nr: nr, Name: name, Disp: sentry.Notify, Handler: live(h), Answer: answered(h), Args: args, Note: note})
	}
	deny := func(nr uintptr, name string, e unix.Errno, note string) {
		tb.Add(sentry.Row{Nr: nr, Name: name, Disp: sentry.Deny, Errno: e, Note: note})
	}
	I, H, S, P := sentry.ArgInt, sentry.ArgHex, sentry.ArgSignal, sentry.ArgPtr
	low32 := func(v uint32) seccomp.ValueMatcher { return seccomp.MaskedEqual(0xffffffff, uintptr(v)) }
	rusageChildren := int32(unix.RUSAGE_CHILDREN)

	// Process creation (clone.go), the POSIX tree (identity.go, prctl.go).
	cloneNote := "Made a kernel child of herd-init (CLONE_PARENT) with the PID pidspace allocates (ns_last_pid under the fork lock); CLONE_UNTRACED stripped. The POSIX parent is recorded in pidspace."
	trap(unix.SYS_CLONE, "clone", k.clone, []sentry.ArgKind{H, P, P, P, H}, cloneNote)
	trap(unix.SYS_FORK, "fork", k.clone, nil, "Run as the equivalent clone. "+cloneNote)
	trap(unix.SYS_VFORK, "vfork", k.clone, nil, "Run as the equivalent clone(CLONE_VM|CLONE_VFORK). "+cloneNote)
	deny(unix.SYS_CLONE3, "clone3", unix.ENOSYS, "Refused so that libc falls back to clone, whose flags the sentry can rewrite (clone3 passes them in memory).")
	answer(unix.SYS_GETPPID, "getppid", k.getppid, nil, "The POSIX parent from pidspace (the kernel parent is always herd-init).")
	trapIf(unix.SYS_PRCTL, "prctl",
		seccomp.Or{
			seccomp.PerArg{low32(unix.PR_SET_PDEATHSIG)}, seccomp.PerArg{low32(unix.PR_GET_PDEATHSIG)},
			seccomp.PerArg{low32(unix.PR_SET_CHILD_SUBREAPER)}, seccomp.PerArg{low32(unix.PR_GET_CHILD_SUBREAPER)},
		}, "PR_SET/GET_PDEATHSIG, PR_SET/GET_CHILD_SUBREAPER only",
		k.prctl, []sentry.ArgKind{I, H}, "Parent-death signals and subreapers act on the POSIX tree in pidspace. Other options run natively.")
	trapIf(unix.SYS_RT_SIGACTION, "rt_sigaction", seccomp.PerArg{low32(uint32(unix.SIGCHLD))}, "SIGCHLD only",
		k.rtSigaction, []sentry.ArgKind{S, P, P, I}, "Runs natively; SIGCHLD's disposition (SIG_IGN, SA_NOCLDSTOP, SA_NOCLDWAIT) is recorded for auto-reaping and stop reports.")

	credNote := "Runs natively; the resulting credentials are recorded in pidspace for kill permission checks and si_uid."
	for _, c := range []struct {
		nr   uintptr
		name string
	}{
		{unix.SYS_SETUID, "setuid"}, {unix.SYS_SETGID, "setgid"},
		{unix.SYS_SETREUID, "setreuid"}, {unix.SYS_SETREGID, "setregid"},
		{unix.SYS_SETRESUID, "setresuid"}, {unix.SYS_SETRESGID, "setresgid"},
	} {
		trap(c.nr, c.name, k.setid, []sentry.ArgKind{I, I, I}, credNote)
	}

	if k.placer != nil {
		trap(unix.SYS_EXECVE, "execve", k.execve, []sentry.ArgKind{P, P, P},
			"Trapped on the nodes of a cluster only: placed on another node when the process's placement policy says so (the program starts there with the same PID and the state execve keeps; the image here vanishes without an exit). Runs natively when it stays, so a failing exec gives the kernel's errno. execveat runs natively, here.")
	}

	// Waiting (wait.go) and children's usage (rusage.go).
	trap(unix.SYS_WAIT4, "wait4", k.wait4, []sentry.ArgKind{I, P, H, P}, "Emulated from pidspace; blocks in pause() so signals give EINTR or restart as in Linux.")
	trap(unix.SYS_WAITID, "waitid", k.waitid, []sentry.ArgKind{I, I, P, H, P}, "Emulated from pidspace (P_PID, P_PGID, P_ALL, P_PIDFD); blocks like wait4.")
	trapIf(unix.SYS_GETRUSAGE, "getrusage", seccomp.PerArg{low32(uint32(rusageChildren))}, "RUSAGE_CHILDREN only",
		k.getrusage, []sentry.ArgKind{I, P}, "Children's usage accumulated in pidspace as children are reaped.")
	trap(unix.SYS_TIMES, "times", k.times, []sentry.ArgKind{P}, "Runs natively; the children's times are filled in from pidspace.")

	// Signals (signal.go).
	k.killRows(tb)
	trap(unix.SYS_RT_SIGTIMEDWAIT, "rt_sigtimedwait", k.rtSigtimedwait, []sentry.ArgKind{P, P, P, I},
		"Runs natively. A signal herd-init sent (SIGCHLD, a parent-death signal…) that the call takes gets the siginfo herd gives it at delivery (the child's PID and status), which the kernel's dequeue would show as herd-init's kill.")
	trap(unix.SYS_RT_SIGQUEUEINFO, "rt_sigqueueinfo", k.rtSigqueueinfo, []sentry.ArgKind{I, S, P}, "Target and permission from pidspace (a thread's TID names its process); delivered natively, as kill. A PID held by another node is decided there, with the caller's siginfo.")
	trap(unix.SYS_RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", k.rtTgsigqueueinfo, []sentry.ArgKind{I, I, S, P}, "The thread must be a sandboxed task; delivered natively unless the thread ignores it.")

	// Groups and sessions (session.go).
	trap(unix.SYS_SETPGID, "setpgid", k.setpgid, []sentry.ArgKind{I, I}, "Decided by pidspace; mirrored into the kernel when a process moves itself, so terminal job control agrees.")
	answer(unix.SYS_GETPGID, "getpgid", k.getpgid, []sentry.ArgKind{I}, "From pidspace.")
	answer(unix.SYS_GETPGRP, "getpgrp", k.getpgrp, nil, "From pidspace.")
	trap(unix.SYS_SETSID, "setsid", k.setsid, nil, "Decided by pidspace, then run natively so the terminal sees the new session.")
	answer(unix.SYS_GETSID, "getsid", k.getsid, []sentry.ArgKind{I}, "From pidspace.")

	// The machine as the cluster (sysinfo.go, affinity.go).
	k.machineRows(trap)

	// System V IPC (ipc_msg.go, ipc_sem.go): message queues and
	// semaphore sets of the cluster.
	if k.ipc != nil {
		ipcNote := "Emulated by the cluster's IPC service: the key is bound to a cluster-wide id in Raft and the queue lives at the node that made it; a call on a queue of this node that need not wait is answered at once, others wait parked (EINTR on a signal; unlike Linux, a handler with SA_RESTART restarts the call), and a queue of another node is reached there."
		trap(unix.SYS_MSGGET, "msgget", k.msgget, []sentry.ArgKind{H, H}, ipcNote)
		trap(unix.SYS_MSGSND, "msgsnd", k.msgsnd, []sentry.ArgKind{I, P, I, H}, ipcNote)
		trap(unix.SYS_MSGRCV, "msgrcv", k.msgrcv, []sentry.ArgKind{I, P, I, I, H}, ipcNote)
		trap(unix.SYS_MSGCTL, "msgctl", k.msgctl, []sentry.ArgKind{I, I, P}, ipcNote+" IPC_INFO and MSG_INFO count this node's queues; MSG_STAT is EINVAL.")
		semNote := strings.ReplaceAll(ipcNote, "queue", "set") + " SEM_UNDO adjustments are applied at the process's exit before its parent hears of it."
		trap(unix.SYS_SEMGET, "semget", k.semget, []sentry.ArgKind{H, I, H}, semNote)
		trap(unix.SYS_SEMOP, "semop", k.semop, []sentry.ArgKind{I, P, I}, semNote)
		trap(unix.SYS_SEMTIMEDOP, "semtimedop", k.semop, []sentry.ArgKind{I, P, I, P}, semNote)
		trap(unix.SYS_SEMCTL, "semctl", k.semctl, []sentry.ArgKind{I, I, I, H}, semNote+" IPC_INFO and SEM_INFO count this node's sets; SEM_STAT is EINVAL; SETALL needs the set seen on this node (semget or IPC_STAT) first, else EINVAL.")
	}

	// The sandbox's edge (sandbox.go, pidfd.go).
	trap(unix.SYS_PTRACE, "ptrace", k.ptrace, []sentry.ArgKind{I, I, P, P}, "EPERM: the sentry is the only tracer (a second would escape interception).")
	outside := fmt.Sprintf("ESRCH for herd-init and its threads (PIDs below %d); native otherwise.", pidspace.FirstPID)
	belowCluster := fmt.Sprintf("pid < %d only", pidspace.FirstPID)
	trapIf(unix.SYS_PROCESS_VM_READV, "process_vm_readv", seccomp.PerArg{seccomp.LessThan(pidspace.FirstPID)}, belowCluster, k.processVMReadv, []sentry.ArgKind{I}, outside)
	trapIf(unix.SYS_PROCESS_VM_WRITEV, "process_vm_writev", seccomp.PerArg{seccomp.LessThan(pidspace.FirstPID)}, belowCluster, k.processVMWritev, []sentry.ArgKind{I}, outside)
	trap(unix.SYS_PIDFD_OPEN, "pidfd_open", k.pidfdOpen, []sentry.ArgKind{I, H}, "Runs natively for sandboxed processes (poll on the pidfd is then the kernel's); the target is remembered for waitid(P_PIDFD) after herd-init reaped the kernel task. ESRCH for herd-init's threads. The launcher's PID opens a pidfd of its stand-in process (a real process, as the caller's shell is).")
	trap(unix.SYS_PIDFD_SEND_SIGNAL, "pidfd_send_signal", k.pidfdSendSignal, []sentry.ArgKind{I, S, P, H}, "Runs natively; a signal the target ignores is not generated (a traced task would be interrupted by it), and a zombie whose kernel task herd-init has reaped answers as Linux's zombie does (0).")
	k.procCallRows(tb)
	deny(unix.SYS_IO_URING_SETUP, "io_uring_setup", unix.ENOSYS, "Refused: io_uring would issue calls the filter never sees. Programs fall back to ordinary syscalls.")
	return tb
}

// killNote and threadNote are the support notes of kill and of tkill and
// tgkill.
const (
	killNote   = "Targets and permission from pidspace (pid, 0, -pgid, -1; a thread's TID names its process); one live target is signalled by the kernel, several by herd-init with the sender's siginfo. A signal the target ignores is not generated, and a target that exits meanwhile answers as a zombie. In a cluster, 0, -pgid and -1 reach the other nodes' processes too, and a PID held by another node is decided and delivered there (the call waits parked for the answer). On a node without a cluster, signal 0 (the existence and permission probe) is notified: answered from pidspace without a ptrace stop."
	threadNote = "The thread must be a sandboxed task; delivered natively unless the thread ignores it. On a node without a cluster, signal 0 (the probe) is notified: answered from pidspace and the sentry's threads without a ptrace stop."
)

// killRows adds kill, tkill and tgkill. On a node without a cluster,
// their signal 0 (the probe) is answered through user notification
// (killProbe, threadProbe); the other signals, and every call on a
// cluster's node (peers, remote holders, which an answer off the tracer
// thread cannot reach), are trapped.
func (k *Kernel) killRows(tb *sentry.Table) {
	I, S := sentry.ArgInt, sentry.ArgSignal
	rows := []sentry.Row{
		{Nr: unix.SYS_KILL, Name: "kill", Handler: live(k.kill), Answer: answered(k.killProbe), Args: []sentry.ArgKind{I, S}, Note: killNote},
		{Nr: unix.SYS_TKILL, Name: "tkill", Handler: live(k.tkill), Answer: answered(k.tkillProbe), Args: []sentry.ArgKind{I, S}, Note: threadNote},
		{Nr: unix.SYS_TGKILL, Name: "tgkill", Handler: live(k.tgkill), Answer: answered(k.tgkillProbe), Args: []sentry.ArgKind{I, I, S}, Note: threadNote},
	}
	for _, r := range rows {
		if k.placer != nil {
			r.Disp, r.Answer = sentry.Trap, nil
		} else {
			// The signal is the last argument.
			var sig seccomp.PerArg
			for i := range sig {
				sig[i] = seccomp.AnyValue{}
			}
			sig[len(r.Args)-1] = seccomp.MaskedEqual(0xffffffff, 0)
			r.Disp, r.Match, r.MatchNote = sentry.Notify, sig, "signal 0 notified, other signals trapped"
		}
		tb.Add(r)
	}
}
