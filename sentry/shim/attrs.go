package shim

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Attrs are the scheduling attributes and resource limits a process hands
// on to its children (sentry.ProcAttrs converts to it).
type Attrs struct {
	// Policy is as sched_getscheduler returns it (SCHED_RESET_ON_FORK
	// included); Priority its static priority (0 unless real-time).
	Policy   int `json:"policy"`
	Priority int `json:"priority,omitempty"`
	Nice     int `json:"nice,omitempty"`
	// CPUs is the CPU affinity; empty leaves herd-init's.
	CPUs    []int    `json:"cpus,omitempty"`
	Rlimits []Rlimit `json:"rlimits,omitempty"`
}

// Rlimit is one resource limit (RLIMIT_*).
type Rlimit struct {
	Resource int    `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

// Apply gives the calling thread (a helper's main thread, its leader,
// whose values /proc and sched_getscheduler(pid) show) the attributes, as
// far as the kernel lets this process's credentials: limits first, as
// they bound what nice and real-time priority may be taken. It returns
// what was refused.
func (a *Attrs) Apply() []string {
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
