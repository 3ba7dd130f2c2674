package procview

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The cluster's /sys/devices/system/cpu/cpuN/topology (what lscpu counts
// sockets, cores and threads with). A node's CPUs keep their core and
// die; packages are numbered per kernel (a kernel's package p is the
// cluster's offset+p, the offset being the packages of the kernels
// before it), so that nodes sharing a host share its sockets as natively
// and nodes on different hosts never do. Sibling masks are in the
// cluster's CPU numbering.

// CPUTopo is one CPU of the cluster as its topology directory shows it.
type CPUTopo struct {
	Package, Die, Core int
	// Threads are the CPUs of its core, Dies of its die, Packages of
	// its package (the cluster's numbers).
	Threads, Dies, Packages []int
}

// kernelIndex numbers the nodes' kernels (BootID) in order of first
// appearance: the kernel of each node.
func kernelIndex(nodes []NodeStat) []int {
	seen := map[string]int{}
	out := make([]int, len(nodes))
	for i, st := range nodes {
		boot := st.BootID
		if boot == "" {
			boot = "node:" + strconv.Itoa(i)
		}
		k, ok := seen[boot]
		if !ok {
			k = len(seen)
			seen[boot] = k
		}
		out[i] = k
	}
	return out
}

// Topology is every CPU of the cluster, by its global number.
func Topology(nodes []NodeStat) []CPUTopo {
	kernel := kernelIndex(nodes)
	// A kernel's package offset: the packages of the kernels before it.
	offset := map[int]int{}
	next := 0
	type key struct{ kernel, pkg, die, core int }
	cpusOf := map[key][]int{}
	var out []CPUTopo
	for i, st := range nodes {
		k := kernel[i]
		if _, ok := offset[k]; !ok {
			offset[k] = next
		}
		for _, c := range st.CPUs {
			next = max(next, offset[k]+c.Package+1)
			g := len(out)
			out = append(out, CPUTopo{Package: offset[k] + c.Package, Die: c.Die, Core: c.Core})
			for _, kk := range []key{{k, c.Package, c.Die, c.Core}, {k, c.Package, c.Die, -1}, {k, c.Package, -1, -1}} {
				cpusOf[kk] = append(cpusOf[kk], g)
			}
		}
	}
	// The sibling sets, now complete.
	g := 0
	for i, st := range nodes {
		for _, c := range st.CPUs {
			k := kernel[i]
			out[g].Threads = cpusOf[key{k, c.Package, c.Die, c.Core}]
			out[g].Dies = cpusOf[key{k, c.Package, c.Die, -1}]
			out[g].Packages = cpusOf[key{k, c.Package, -1, -1}]
			g++
		}
	}
	return out
}

// TopologyFiles are the files of a cpuN/topology directory.
var TopologyFiles = []string{
	"physical_package_id", "die_id", "core_id",
	"thread_siblings", "thread_siblings_list", "core_cpus", "core_cpus_list",
	"core_siblings", "core_siblings_list", "package_cpus", "package_cpus_list",
	"die_cpus", "die_cpus_list",
}

// RenderTopology is file name of cpuN/topology for the cluster's CPU n
// (nil if the cluster has no CPU n).
func RenderTopology(nodes []NodeStat, n int, name string) []byte {
	topo := Topology(nodes)
	if n < 0 || n >= len(topo) {
		return nil
	}
	t := topo[n]
	total := len(topo)
	sets := map[string][]int{"thread_siblings": t.Threads, "core_cpus": t.Threads,
		"core_siblings": t.Packages, "package_cpus": t.Packages, "die_cpus": t.Dies}
	switch name {
	case "physical_package_id":
		return fmt.Appendf(nil, "%d\n", t.Package)
	case "die_id":
		return fmt.Appendf(nil, "%d\n", t.Die)
	case "core_id":
		return fmt.Appendf(nil, "%d\n", t.Core)
	}
	if base, ok := strings.CutSuffix(name, "_list"); ok && sets[base] != nil {
		return []byte(CPUList(sets[base]) + "\n")
	}
	if set := sets[name]; set != nil {
		return []byte(CPUMask(set, total) + "\n")
	}
	return nil
}

// CPUList is a set of CPUs as the kernel lists them: "0-3,6".
func CPUList(cpus []int) string {
	cpus = slices.Sorted(slices.Values(cpus))
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// CPUMask is a set of CPUs as the kernel's hex mask of nbits CPUs:
// 32-bit words, most significant first, separated by commas, the first
// only as wide as its bits need ("3" for 2 CPUs, "ffffffff,ffffffff" for
// 64).
func CPUMask(cpus []int, nbits int) string {
	words := make([]uint32, max(1, (nbits+31)/32))
	for _, c := range cpus {
		if c >= 0 && c < len(words)*32 {
			words[c/32] |= 1 << (c % 32)
		}
	}
	var b strings.Builder
	for i := len(words) - 1; i >= 0; i-- {
		width := 8
		if i == len(words)-1 && nbits%32 != 0 {
			width = (nbits%32 + 3) / 4
		}
		if i != len(words)-1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%0*x", width, words[i])
	}
	return b.String()
}
