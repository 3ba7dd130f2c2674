package syscalls

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/procview"
)

// The affinity calls and getcpu in the cluster's CPU numbering: a
// process runs on its node's CPUs, which are the cluster's CPUs
// Offset..Offset+n-1 (procview.CPUPlace), so sched_getaffinity gives
// those it may use there (nproc) and the mask's size is the cluster's;
// sched_setaffinity pins within the node, and a mask of only other
// nodes' CPUs is EINVAL (moving the process there is the migration
// issue's). The host's calls are made from the tracer thread on the
// stopped task, after the figures are gathered off it.

// withPlace answers the call from this node's place in the cluster's
// numbering; if the figures cannot be had, the host's numbering is the
// cluster's (the node alone).
func (k *Kernel) withPlace(f func(t task, p procview.CPUPlace) int64) action {
	return k.withFigures(func(t task, nodes []procview.NodeStat) int64 {
		p, ok := procview.PlaceOf(nodes, k.node)
		if !ok {
			p = hostPlace()
		}
		return f(t, p)
	}, func(t task) int64 { return f(t, hostPlace()) })
}

// hostPlace is the host's own numbering: CPUs 0 to the last one this
// process may run on.
func hostPlace() procview.CPUPlace {
	var set unix.CPUSet
	n := 1
	if unix.SchedGetaffinity(0, &set) == nil {
		for c := range len(set) * 64 {
			if set.IsSet(c) {
				n = c + 1
			}
		}
	}
	p := procview.CPUPlace{Total: n}
	for c := range n {
		p.Host = append(p.Host, c)
	}
	return p
}

// maskBytes is the size of the kernel's cpumask for total CPUs
// (cpumask_size: whole longs).
func maskBytes(total int) int { return (total + 63) / 64 * 8 }

// globalMask is set, of host CPUs, as a cpumask of size bytes in the
// cluster's numbering (the node's CPUs only).
func globalMask(p procview.CPUPlace, set *unix.CPUSet, size int) []byte {
	b := make([]byte, size)
	for i, h := range p.Host {
		if g := p.Offset + i; set.IsSet(h) && g/8 < size {
			b[g/8] |= 1 << (g % 8)
		}
	}
	return b
}

// hostSet is the node's host CPUs that mask, in the cluster's
// numbering, names; false if it names none of them.
func hostSet(p procview.CPUPlace, mask []byte) (unix.CPUSet, bool) {
	var set unix.CPUSet
	for i, h := range p.Host {
		if g := p.Offset + i; g/8 < len(mask) && mask[g/8]&(1<<(g%8)) != 0 {
			set.Set(h)
		}
	}
	return set, set.Count() > 0
}

// affinityTarget is the thread pid names (0: the caller); herd-init's
// threads are outside the sandbox.
func affinityTarget(t task, pid int) (int, unix.Errno) {
	switch {
	case pid == 0:
		return t.TID(), 0
	case pid < pidspace.FirstPID:
		return 0, unix.ESRCH
	}
	return pid, 0
}

// schedGetaffinity: the CPUs the thread may use, of its node's, in the
// cluster's numbering; the mask is the cluster's size.
func (k *Kernel) schedGetaffinity(t task) action {
	pid, size, addr := int(int32(t.Arg(0))), uint64(uint32(t.Arg(1))), t.Arg(2)
	return k.withPlace(func(t task, p procview.CPUPlace) int64 {
		if size*8 < uint64(p.Total) || size%8 != 0 {
			return -int64(unix.EINVAL)
		}
		tid, e := affinityTarget(t, pid)
		if e != 0 {
			return -int64(e)
		}
		set, err := k.machine.hostOf().getAffinity(tid)
		if err != nil {
			return -int64(errno(err))
		}
		n := min(int(size), maskBytes(p.Total))
		if err := t.WriteMem(addr, globalMask(p, &set, n)); err != nil {
			return -int64(unix.EFAULT)
		}
		return int64(n)
	})
}

// schedSetaffinity: pins the thread to the node's CPUs the mask names
// (the cluster's numbering); EINVAL if it names none of them.
func (k *Kernel) schedSetaffinity(t task) action {
	pid, size, addr := int(int32(t.Arg(0))), int(uint32(t.Arg(1))), t.Arg(2)
	if k.machine.figures == nil || k.machine.hostOf().shim(t.TID()) {
		return native() // the shim's is the launcher's, in the host's numbering
	}
	return k.withPlace(func(t task, p procview.CPUPlace) int64 {
		mask := make([]byte, min(size, maskBytes(p.Total)))
		if err := t.ReadMem(addr, mask); err != nil {
			return -int64(unix.EFAULT)
		}
		tid, e := affinityTarget(t, pid)
		if e != 0 {
			return -int64(e)
		}
		if e := k.mayPin(t, tid); e != 0 {
			return -int64(e)
		}
		set, ok := hostSet(p, mask)
		if !ok {
			return -int64(unix.EINVAL)
		}
		if err := k.machine.hostOf().setAffinity(tid, &set); err != nil {
			return -int64(errno(err))
		}
		return 0
	})
}

// mayPin is Linux's permission check of sched_setaffinity: the caller's
// effective uid is the target's real or effective one, or it has
// CAP_SYS_NICE. (The call is made by herd-init, which always may.)
func (k *Kernel) mayPin(t task, tid int) unix.Errno {
	host := k.machine.hostOf()
	target, err := host.status(tid)
	if err != nil {
		return unix.ESRCH
	}
	me, err := host.status(t.TID())
	if err != nil {
		return unix.ESRCH
	}
	euid := me.Uid[1]
	if euid == target.Uid[1] || euid == target.Uid[0] || me.CapEff&(1<<unix.CAP_SYS_NICE) != 0 {
		return 0
	}
	return unix.EPERM
}

// getcpu: the CPU the thread runs on in the cluster's numbering, and
// that CPU's NUMA node on its host. (glibc's sched_getcpu reads rseq or
// the vDSO, which no filter sees: only the system call is answered.)
func (k *Kernel) getcpu(t task) action {
	cpuAddr, nodeAddr := t.Arg(0), t.Arg(1)
	return k.withPlace(func(t task, p procview.CPUPlace) int64 {
		h, numa, err := k.machine.hostOf().lastCPU(t.TID())
		if err != nil {
			return -int64(errno(err))
		}
		g := p.Global(h)
		if g < 0 {
			g = h
		}
		if cpuAddr != 0 && writeStruct(t, cpuAddr, new(uint32(g))) != nil {
			return -int64(unix.EFAULT)
		}
		if nodeAddr != 0 && writeStruct(t, nodeAddr, new(uint32(numa))) != nil {
			return -int64(unix.EFAULT)
		}
		return 0
	})
}

// kernelCalls are the host kernel's calls.
type kernelCalls struct{}

func (kernelCalls) getAffinity(tid int) (unix.CPUSet, error) {
	var set unix.CPUSet
	err := unix.SchedGetaffinity(tid, &set)
	return set, err
}

func (kernelCalls) setAffinity(tid int, set *unix.CPUSet) error {
	return unix.SchedSetaffinity(tid, set)
}

func (kernelCalls) status(tid int) (*procview.Status, error) { return procview.ReadStatus(tid) }

// shimArg0 is the shim's argv[0] (the sentry's shimName).
const shimArg0 = "herd-shim"

func (kernelCalls) shim(tid int) bool {
	b, err := procview.Proc.ReadFile(strconv.Itoa(tid) + "/cmdline")
	arg0, _, _ := bytes.Cut(b, []byte{0})
	return err == nil && string(arg0) == shimArg0
}

// lastCPU reads the processor field of the thread's stat, and finds its
// NUMA node among /sys/devices/system/node/nodeN (0 without NUMA).
func (kernelCalls) lastCPU(tid int) (int, int, error) {
	st, err := procview.ReadStat(tid)
	if err != nil {
		return 0, 0, unix.ESRCH
	}
	if st.Processor < 0 {
		return 0, 0, unix.ENOSYS
	}
	nodes, _ := filepath.Glob("/sys/devices/system/node/node*/cpu" + strconv.Itoa(st.Processor))
	for _, p := range nodes {
		if _, err := os.Stat(p); err == nil {
			if n, err := strconv.Atoi(filepath.Base(filepath.Dir(p))[len("node"):]); err == nil {
				return st.Processor, n, nil
			}
		}
	}
	return st.Processor, 0, nil
}
