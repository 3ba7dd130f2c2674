package sentry

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/sentry/shim"
)

// ProcAttrs are the scheduling attributes and resource limits a process
// hands on to its children: what a launcher had, given to its stand-in.
type ProcAttrs struct {
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
type Rlimit = shim.Rlimit

// wire is a as the helpers read it (the same fields).
func (a *ProcAttrs) wire() *shim.Attrs { return (*shim.Attrs)(a) }

// The kernel's ranges (include/linux/sched/prio.h: MAX_RT_PRIO-1,
// MIN_NICE, MAX_NICE; RLIM_NLIMITS), which neither x/sys/unix nor
// gVisor's abi names.
const (
	maxRTPriority    = 99
	minNice, maxNice = -20, 19
	numRlimits       = linux.RLIMIT_RTTIME + 1
	maxCPUs          = len(unix.CPUSet{}) * 64 // what a unix.CPUSet holds
)

// SelfAttrs are the calling thread's attributes (its process's limits).
// What cannot be read is left at its zero value, a limit out.
func SelfAttrs() *ProcAttrs {
	a := AttrsOf(0)
	a.Rlimits = slices.DeleteFunc(a.Rlimits, func(rl Rlimit) bool {
		return goRaised(rl.Resource, unix.Rlimit{Cur: rl.Cur, Max: rl.Max})
	})
	return a
}

// AttrsOf are the attributes of task pid (0: the caller): its scheduling
// policy, priority, nice value, CPU affinity and its process's limits.
// What cannot be read is left at its zero value, a limit out.
func AttrsOf(pid int) *ProcAttrs {
	a := &ProcAttrs{}
	if attr, err := unix.SchedGetAttr(pid, 0); err == nil {
		a.Policy, a.Priority, a.Nice = int(attr.Policy), int(attr.Priority), int(attr.Nice)
		if attr.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0 {
			a.Policy |= unix.SCHED_RESET_ON_FORK
		}
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &set); err == nil {
		for cpu := 0; cpu < maxCPUs; cpu++ {
			if set.IsSet(cpu) {
				a.CPUs = append(a.CPUs, cpu)
			}
		}
	}
	for res := 0; res < numRlimits; res++ {
		var rl unix.Rlimit
		if unix.Prlimit(pid, res, nil, &rl) == nil {
			a.Rlimits = append(a.Rlimits, Rlimit{Resource: res, Cur: rl.Cur, Max: rl.Max})
		}
	}
	return a
}

// goRaised reports whether rl is the RLIMIT_NOFILE the Go runtime gave
// itself at start: it raises a soft limit below Max-1 to exactly Max-1
// (syscall's init) and restores the original only in the children it
// forks. The original is not to be had, so it is left out: the node's
// own forks restore theirs, which in herd run's embedded node is the
// caller's.
func goRaised(res int, rl unix.Rlimit) bool {
	return res == unix.RLIMIT_NOFILE && rl.Max > 0 && rl.Max != unix.RLIM_INFINITY && rl.Cur == rl.Max-1
}

// Validate rejects attributes no process can have, as sched_setattr,
// setpriority, sched_setaffinity and setrlimit would. Whether a given
// caller may have them is decided by the kernel when apply runs with the
// caller's credentials.
func (a *ProcAttrs) Validate() error {
	realtime := false
	switch a.Policy &^ linux.SCHED_RESET_ON_FORK {
	case linux.SCHED_NORMAL, linux.SCHED_BATCH, linux.SCHED_IDLE:
	case linux.SCHED_FIFO, linux.SCHED_RR:
		realtime = true
	default:
		return fmt.Errorf("bad scheduling policy %#x", a.Policy)
	}
	if realtime && (a.Priority < 1 || a.Priority > maxRTPriority) || !realtime && a.Priority != 0 {
		return fmt.Errorf("bad priority %d for policy %#x", a.Priority, a.Policy)
	}
	if a.Nice < minNice || a.Nice > maxNice {
		return fmt.Errorf("bad nice value %d", a.Nice)
	}
	for _, cpu := range a.CPUs {
		if cpu < 0 || cpu >= maxCPUs {
			return fmt.Errorf("bad CPU %d", cpu)
		}
	}
	seen := make(map[int]bool)
	for _, rl := range a.Rlimits {
		if rl.Resource < 0 || rl.Resource >= numRlimits || seen[rl.Resource] || rl.Cur > rl.Max {
			return fmt.Errorf("bad limit %+v", rl)
		}
		seen[rl.Resource] = true
	}
	return nil
}
