package sentry

// The stand-in process itself (the herd binary started with standInEnv
// set): it takes the caller's identity and attributes, says so, and
// sleeps until herd-init closes its socket. It never runs user code and
// is never traced.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// standInEnv marks the herd binary started as a stand-in: its argv is the
// launcher's command line, so argv[0] cannot say it.
const standInEnv = "HERD_LAUNCHER_STAND_IN"

func isStandIn() bool { return os.Getenv(standInEnv) == "1" }

func standInMain() {
	// A shell waiting for its job ignores what would stop its wait;
	// the stand-in has nothing to interrupt, and must not die of a
	// signal the program or a terminal sends (SIGKILL still kills it).
	signal.Ignore()
	f := os.NewFile(3, "launcher")
	var spec standInWire
	if err := json.NewDecoder(f).Decode(&spec); err != nil {
		fmt.Fprintf(os.Stderr, "herd stand-in: read spec: %v\n", err)
		os.Exit(126)
	}
	// Everything after this is checked by the kernel as the caller.
	if err := setAllCreds(spec.UID, spec.GID, spec.Groups); err != nil {
		fmt.Fprintf(os.Stderr, "herd stand-in: set credentials: %v\n", err)
		os.Exit(126)
	}
	problems := spec.Attrs.apply()
	if spec.Dir != "" {
		if err := unix.Chdir(spec.Dir); err != nil {
			problems = append(problems, fmt.Sprintf("chdir %s: %v", spec.Dir, err))
		}
	}
	setComm(spec.Comm)
	// An object: a decoder knows where it ends without reading on.
	reply, _ := json.Marshal(standInReply{Refused: problems})
	if _, err := f.Write(reply); err != nil {
		os.Exit(0)
	}
	// Until herd-init closes its end: the launch is over.
	io.Copy(io.Discard, f)
	os.Exit(0)
}

// setAllCreds drops every thread of this process to uid, gid and groups
// (the Go runtime's syscall wrappers change all threads).
func setAllCreds(uid, gid uint32, groups []uint32) error {
	gs := make([]int, len(groups))
	for i, g := range groups {
		gs[i] = int(g)
	}
	if err := syscall.Setgroups(gs); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(gid), int(gid), int(gid)); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(int(uid), int(uid), int(uid)); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	return nil
}

// apply gives the calling thread (the stand-in's main thread, its leader,
// whose values /proc and sched_getscheduler(pid) show) the attributes, as
// far as the kernel lets this process's credentials: limits first, as
// they bound what nice and real-time priority may be taken. It returns
// what was refused.
func (a *ProcAttrs) apply() []string {
	if a == nil {
		return nil
	}
	var problems []string
	note := func(what string, err error) {
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
		}
	}
	for _, rl := range a.Rlimits {
		lim := unix.Rlimit{Cur: rl.Cur, Max: rl.Max}
		note(fmt.Sprintf("rlimit %d", rl.Resource), unix.Prlimit(0, rl.Resource, &lim, nil))
	}
	note("setpriority", unix.Setpriority(unix.PRIO_PROCESS, 0, a.Nice))
	attr := unix.SchedAttr{
		Policy:   uint32(a.Policy &^ unix.SCHED_RESET_ON_FORK),
		Priority: uint32(a.Priority),
		Nice:     int32(a.Nice),
	}
	if a.Policy&unix.SCHED_RESET_ON_FORK != 0 {
		attr.Flags = unix.SCHED_FLAG_RESET_ON_FORK
	}
	note("sched_setattr", unix.SchedSetAttr(0, &attr, 0))
	if len(a.CPUs) > 0 {
		var set unix.CPUSet
		for _, c := range a.CPUs {
			set.Set(c)
		}
		note("sched_setaffinity", unix.SchedSetaffinity(0, &set))
	}
	return problems
}

// setComm sets this thread's name (/proc/<pid>/comm for the leader).
func setComm(comm string) {
	if comm == "" {
		return
	}
	b := append([]byte(comm), 0)
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0)
}
