package procview

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The cluster view (design decision 8): the files of /proc and
// /sys/devices/system/cpu that describe the machine, rendered for the
// cluster from the NodeStat of every node, given in member order. CPUs
// are numbered globally: a node's offset (the CPUs of the nodes before it)
// plus its local index. Memory and per-CPU times are summed over nodes;
// counters of a whole kernel (load, context switches, forks, interrupts,
// swap devices) over kernels (BootID), so that local nodes sharing one
// host count it once. Each function returns a whole file.

// kernels is the first NodeStat of each distinct kernel.
func kernels(nodes []NodeStat) []*NodeStat {
	var out []*NodeStat
	seen := map[string]bool{}
	for i := range nodes {
		if id := nodes[i].BootID; id == "" || !seen[id] {
			seen[id] = true
			out = append(out, &nodes[i])
		}
	}
	return out
}

// CPUCount is the number of CPUs of the cluster.
func CPUCount(nodes []NodeStat) int {
	n := 0
	for _, st := range nodes {
		n += len(st.CPUs)
	}
	return n
}

// RenderCPUInfo is /proc/cpuinfo: each node's CPU blocks, numbered
// globally.
func RenderCPUInfo(nodes []NodeStat) []byte {
	var b strings.Builder
	g := 0
	for _, st := range nodes {
		for _, c := range st.CPUs {
			fmt.Fprintf(&b, "processor\t: %d\n", g)
			if c.Info != "" {
				b.WriteString(c.Info)
				b.WriteByte('\n')
			}
			b.WriteByte('\n')
			g++
		}
	}
	return []byte(b.String())
}

// RenderStat is /proc/stat: the summed cpu line, a cpuN line per CPU of
// the cluster, and the kernels' counters.
func RenderStat(nodes []NodeStat) []byte {
	var sum [10]uint64
	var lines strings.Builder
	g := 0
	for _, st := range nodes {
		for _, c := range st.CPUs {
			lines.WriteString("cpu" + strconv.Itoa(g))
			writeTicks(&lines, c.Ticks)
			for i, t := range c.Ticks {
				sum[i] += t
			}
			g++
		}
	}
	var b strings.Builder
	b.WriteString("cpu ")
	writeTicks(&b, sum)
	b.WriteString(lines.String())
	var k NodeStat
	for _, st := range kernels(nodes) {
		k.Intr += st.Intr
		k.Ctxt += st.Ctxt
		k.Processes += st.Processes
		k.ProcsRunning += st.ProcsRunning
		k.ProcsBlocked += st.ProcsBlocked
		k.Softirq += st.Softirq
		if k.BootTime == 0 || st.BootTime < k.BootTime {
			k.BootTime = st.BootTime
		}
	}
	fmt.Fprintf(&b, "intr %d\nctxt %d\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked %d\nsoftirq %d\n",
		k.Intr, k.Ctxt, k.BootTime, k.Processes, k.ProcsRunning, k.ProcsBlocked, k.Softirq)
	return []byte(b.String())
}

func writeTicks(b *strings.Builder, t [10]uint64) {
	for _, v := range t {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(v, 10))
	}
	b.WriteByte('\n')
}

// memKeys are the /proc/meminfo lines of the view, in the kernel's order.
var memKeys = []string{
	"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached",
	"Active", "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
	"Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty", "Writeback",
	"AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable", "SUnreclaim",
	"KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce", "WritebackTmp",
	"CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed", "VmallocChunk", "Percpu",
	"HardwareCorrupted", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages",
	"FilePmdMapped", "Unaccepted", "HugePages_Total", "HugePages_Free", "HugePages_Rsvd",
	"HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k", "DirectMap2M", "DirectMap1G",
}

// memMax are the meminfo lines that are sizes of a kind, not amounts:
// the cluster's is the largest node's, not the sum.
var memMax = map[string]bool{"VmallocTotal": true, "Hugepagesize": true}

// memKernel are the meminfo lines of a whole kernel that a node's cgroup
// does not divide (its swap): summed over kernels, so that local nodes
// sharing a host count its swap once.
var memKernel = map[string]bool{"SwapTotal": true, "SwapFree": true}

// MemTotals sums the nodes' memory figures (largest for memMax keys,
// once per kernel for memKernel keys).
func MemTotals(nodes []NodeStat) map[string]uint64 {
	tot := map[string]uint64{}
	first := map[*NodeStat]bool{}
	for _, st := range kernels(nodes) {
		first[st] = true
	}
	for i := range nodes {
		for k, v := range nodes[i].Mem {
			switch {
			case memMax[k]:
				tot[k] = max(tot[k], v)
			case memKernel[k] && !first[&nodes[i]]:
				// counted with its kernel's first node
			default:
				tot[k] += v
			}
		}
	}
	return tot
}

// RenderMemInfo is /proc/meminfo: the nodes' figures summed, in the
// kernel's format (kB but for the HugePages_ counts). A line no node
// has is left out.
func RenderMemInfo(nodes []NodeStat) []byte {
	tot := MemTotals(nodes)
	var b strings.Builder
	for _, k := range memKeys {
		v, ok := tot[k]
		if !ok {
			continue
		}
		if strings.HasPrefix(k, "HugePages_") {
			fmt.Fprintf(&b, "%-16s%8d\n", k+":", v)
		} else {
			fmt.Fprintf(&b, "%-16s%8d kB\n", k+":", v/1024)
		}
	}
	return []byte(b.String())
}

// LoadTotals are the cluster's load averages and its runnable and total
// scheduling entities (threads), summed over the kernels, and the last
// PID the first node gave: /proc/loadavg's figures, and sysinfo's.
func LoadTotals(nodes []NodeStat) (load [3]float64, running, threads, lastPID int) {
	for i, st := range kernels(nodes) {
		for j := range load {
			load[j] += st.Load[j]
		}
		running += st.Running
		threads += st.Threads
		if i == 0 {
			lastPID = st.LastPID
		}
	}
	return load, running, threads, lastPID
}

// RenderLoadAvg is /proc/loadavg: loads and entity counts summed over
// the kernels; the last PID is the first node's.
func RenderLoadAvg(nodes []NodeStat) []byte {
	load, running, threads, last := LoadTotals(nodes)
	return fmt.Appendf(nil, "%.2f %.2f %.2f %d/%d %d\n", load[0], load[1], load[2], running, threads, last)
}

// userHZ is the unit of /proc/stat's times.
const userHZ = 100

// Uptime is the cluster's: the longest uptime of the nodes (the cluster
// has been up since its first kernel booted), in seconds.
func Uptime(nodes []NodeStat) float64 {
	var up float64
	for _, st := range nodes {
		up = max(up, st.Uptime)
	}
	return up
}

// RenderUptime is /proc/uptime: the cluster's uptime and the idle time
// of all the cluster's CPUs.
func RenderUptime(nodes []NodeStat) []byte {
	var idle uint64
	for _, st := range nodes {
		for _, c := range st.CPUs {
			idle += c.Ticks[3]
		}
	}
	return fmt.Appendf(nil, "%.2f %.2f\n", Uptime(nodes), float64(idle)/userHZ)
}

// RenderSwaps is /proc/swaps: the swap devices of every kernel.
func RenderSwaps(nodes []NodeStat) []byte {
	var b strings.Builder
	b.WriteString("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
	for _, st := range kernels(nodes) {
		for _, l := range st.Swaps {
			b.WriteString(l + "\n")
		}
	}
	return []byte(b.String())
}

// RenderVMStat is /proc/vmstat: each counter summed over the kernels
// (they count a whole kernel's pages and events), in name order.
func RenderVMStat(nodes []NodeStat) []byte {
	tot := map[string]uint64{}
	for _, st := range kernels(nodes) {
		for k, v := range st.VMStat {
			tot[k] += v
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tot)) {
		b.WriteString(k + " " + strconv.FormatUint(tot[k], 10) + "\n")
	}
	return []byte(b.String())
}

// RenderCPURange is /sys/devices/system/cpu/{online,possible,present}:
// every CPU of the cluster, "0-N".
func RenderCPURange(nodes []NodeStat) []byte {
	switch n := CPUCount(nodes); n {
	case 0:
		return []byte("\n")
	case 1:
		return []byte("0\n")
	default:
		return fmt.Appendf(nil, "0-%d\n", n-1)
	}
}

// CPUPlace is where a node's CPUs are in the cluster's numbering: the
// cluster's CPU Offset+i is the node's host CPU Host[i]; Total is the
// number of the cluster's CPUs.
type CPUPlace struct {
	Offset int
	Host   []int
	Total  int
}

// PlaceOf is the place of node's CPUs among nodes (member order); false
// if node is not among them.
func PlaceOf(nodes []NodeStat, node string) (CPUPlace, bool) {
	p := CPUPlace{Total: CPUCount(nodes)}
	found := false
	for _, st := range nodes {
		if st.Node == node && !found {
			found = true
			for _, c := range st.CPUs {
				p.Host = append(p.Host, c.CPU)
			}
		} else if !found {
			p.Offset += len(st.CPUs)
		}
	}
	return p, found
}

// Global is the cluster's number of host CPU cpu of the node, -1 if it
// is not one of the node's.
func (p CPUPlace) Global(cpu int) int {
	for i, h := range p.Host {
		if h == cpu {
			return p.Offset + i
		}
	}
	return -1
}

// HostOf is the node's host CPU that is the cluster's CPU g, -1 if g is
// another node's (or none).
func (p CPUPlace) HostOf(g int) int {
	if i := g - p.Offset; i >= 0 && i < len(p.Host) {
		return p.Host[i]
	}
	return -1
}
