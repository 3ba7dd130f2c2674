package syscalls

import (
	"context"
	"math"

	"golang.org/x/sys/unix"

	"herd/procview"
	"herd/sentry"
)

// The calls that describe the machine (design decision 8): sysinfo, the
// affinity calls and getcpu answer for the cluster, from the same
// figures the /proc view renders (procview.NodeStat of every node). CPUs
// are numbered as in the view: a node's offset (the CPUs of the members
// before it) plus its index.

// Figures gives the cluster view's figures.
type Figures interface {
	// Figures are every node's figures now, in member order (this
	// node's among them), cached briefly. They may wait for other nodes:
	// called off the tracer thread (an asynchronous action).
	Figures(ctx context.Context) ([]procview.NodeStat, error)
}

// machine is what the machine's calls use: the figures (nil: the calls
// run natively) and the kernel's own calls on a thread.
type machine struct {
	figures Figures
	host    hostCalls
}

// hostCalls are the kernel's calls on another thread of the node, made
// from the tracer thread: the host's CPU numbers. A fake in the tests.
type hostCalls interface {
	getAffinity(tid int) (unix.CPUSet, error)
	setAffinity(tid int, set *unix.CPUSet) error
	// lastCPU is the host CPU tid last ran on (it is stopped) and that
	// CPU's NUMA node.
	lastCPU(tid int) (cpu, numa int, err error)
	// status is tid's /proc status (its credentials and capabilities).
	status(tid int) (*procview.Status, error)
	// shim reports whether tid is still herd's shim, before its exec of
	// the program: it applies the launcher's attributes, whose CPUs are
	// the host's.
	shim(tid int) bool
}

// rowFunc adds a trapped row to the table (Table's trap).
type rowFunc func(nr uintptr, name string, h handler, args []sentry.ArgKind, note string)

// machineRows are the table's rows of the machine's calls: answered from
// the cluster view's figures, off the tracer thread.
func (k *Kernel) machineRows(trap rowFunc) {
	I, P := sentry.ArgInt, sentry.ArgPtr
	trap(unix.SYS_SYSINFO, "sysinfo", k.sysinfo, []sentry.ArgKind{P}, "The cluster's totals, from the figures /proc/meminfo, loadavg and uptime show: memory and swap summed over the nodes, loads and procs (threads) over their kernels, the longest uptime.")
	trap(unix.SYS_SCHED_GETAFFINITY, "sched_getaffinity", k.schedGetaffinity, []sentry.ArgKind{I, I, P}, "The thread's CPUs (its node's) in the cluster's numbering (the node's offset plus its index), in a mask of the cluster's size: nproc is what it can use, nproc --all the cluster. ESRCH for herd-init's threads and for threads of other nodes.")
	trap(unix.SYS_SCHED_SETAFFINITY, "sched_setaffinity", k.schedSetaffinity, []sentry.ArgKind{I, I, P}, "Pins to the node's CPUs the mask names, in the cluster's numbering (Linux's permission check); EINVAL if it names only other nodes' CPUs (moving there is for migration).")
	trap(unix.SYS_GETCPU, "getcpu", k.getcpu, []sentry.ArgKind{P, P, P}, "The CPU in the cluster's numbering and its host NUMA node. glibc's sched_getcpu reads rseq or the vDSO, which no filter sees: those give the host's number.")
}

// SetFigures makes sysinfo, the affinity calls and getcpu answer for the
// cluster from f (before Attach, or on the tracer thread). Without it
// they run natively.
func (k *Kernel) SetFigures(f Figures) { k.machine.figures = f }

// hostOf is the kernel's calls, the real ones unless a test set others.
func (m *machine) hostOf() hostCalls {
	if m.host == nil {
		return kernelCalls{}
	}
	return m.host
}

// withFigures answers the call from the cluster's figures: f runs on
// the tracer thread, the task stopped, once they are gathered. If they
// cannot be, fallback's result is the call's. Without figures the call
// runs natively.
func (k *Kernel) withFigures(f func(t task, nodes []procview.NodeStat) int64, fallback func(t task) int64) action {
	fig := k.machine.figures
	if fig == nil {
		return native()
	}
	return asyncThen(func(ctx context.Context) (func(t task) int64, error) {
		nodes, err := fig.Figures(ctx)
		if err != nil || len(nodes) == 0 {
			k.log.Warn("cluster figures unavailable: the kernel's own answer", "err", err)
			return fallback, nil
		}
		return func(t task) int64 { return f(t, nodes) }, nil
	})
}

// sysinfo: the cluster's totals.
func (k *Kernel) sysinfo(t task) action {
	addr := t.Arg(0)
	put := func(t task, info *unix.Sysinfo_t) int64 {
		if err := writeStruct(t, addr, info); err != nil {
			return -int64(unix.EFAULT)
		}
		return 0
	}
	return k.withFigures(func(t task, nodes []procview.NodeStat) int64 {
		info := sysinfoOf(nodes)
		return put(t, &info)
	}, func(t task) int64 {
		var info unix.Sysinfo_t
		if err := unix.Sysinfo(&info); err != nil {
			return -int64(errno(err))
		}
		return put(t, &info)
	})
}

// siLoadShift is SI_LOAD_SHIFT of include/uapi/linux/kernel.h: sysinfo's
// loads are fixed-point with this many fraction bits (neither
// golang.org/x/sys/unix nor gvisor's abi names it).
const siLoadShift = 16

// sysinfoOf is sysinfo(2)'s answer for the cluster: memory and swap as
// /proc/meminfo's, loads and procs (the kernels' threads) as
// /proc/loadavg's, uptime as /proc/uptime's (whole seconds, rounded up
// as the kernel does).
func sysinfoOf(nodes []procview.NodeStat) unix.Sysinfo_t {
	mem := procview.MemTotals(nodes)
	load, _, threads, _ := procview.LoadTotals(nodes)
	info := unix.Sysinfo_t{
		Uptime:    int64(math.Ceil(procview.Uptime(nodes))),
		Totalram:  mem["MemTotal"],
		Freeram:   mem["MemFree"],
		Sharedram: mem["Shmem"],
		Bufferram: mem["Buffers"],
		Totalswap: mem["SwapTotal"],
		Freeswap:  mem["SwapFree"],
		Procs:     uint16(min(threads, math.MaxUint16)),
		Unit:      1,
	}
	for i, l := range load {
		info.Loads[i] = uint64(math.Round(l * (1 << siLoadShift)))
	}
	return info
}
