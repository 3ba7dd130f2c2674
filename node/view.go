package node

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"herd/node/procfs"
	"herd/procview"
	"herd/raftstate"
)

// self is what a node says of its own resources for the cluster view:
// its CPUs (its cgroup's cpuset, as the kernel confines herd-init) and
// its memory (its memory cgroup's limit and use where that limits it,
// else the host's), read from the kernel's procfs and cgroup files.
type self struct {
	name   string
	kernel procview.FS // the kernel's procfs, not the view
	cpus   []int
	mem    memCgroup
	// topo is each CPU's package, die and core, read once (before the
	// view covers /sys/devices/system/cpu).
	topo map[int][3]int
}

// newSelf reads where the node stands: kernel is the kernel's procfs.
func newSelf(name string, kernel procview.FS) (*self, error) {
	cpus, err := cpuList("")
	if err != nil {
		return nil, err
	}
	return &self{name: name, kernel: kernel, cpus: cpus, mem: ownMemCgroup(kernel), topo: readTopology(cpus)}, nil
}

// readTopology reads the package, die and core of cpus from sysfs (0
// where a file is missing).
func readTopology(cpus []int) map[int][3]int {
	out := map[int][3]int{}
	for _, c := range cpus {
		var t [3]int
		for i, name := range []string{"physical_package_id", "die_id", "core_id"} {
			b, err := os.ReadFile(filepath.Join("/sys/devices/system/cpu", "cpu"+strconv.Itoa(c), "topology", name))
			if err == nil {
				t[i], _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
		}
		out[c] = t
	}
	return out
}

// stat is the node's figures now.
func (s *self) stat() (*procview.NodeStat, error) {
	st, err := s.kernel.ReadNodeStat(s.name, s.cpus)
	if err != nil {
		return nil, err
	}
	s.mem.apply(st.Mem)
	for i := range st.CPUs {
		t := s.topo[st.CPUs[i].CPU]
		st.CPUs[i].Package, st.CPUs[i].Die, st.CPUs[i].Core = t[0], t[1], t[2]
	}
	return st, nil
}

// memCgroup is the memory cgroup a node runs in: dir on the host, ""
// when the host has none.
type memCgroup struct {
	dir string
	v2  bool
}

// ownMemCgroup is the memory cgroup of the calling process; kernel is
// the kernel's procfs.
func ownMemCgroup(kernel procview.FS) memCgroup {
	if _, err := os.Stat(filepath.Join(CgroupRoot, "cgroup.controllers")); err == nil {
		if own, err := cgroupIn(kernel, ""); err == nil {
			return memCgroup{dir: filepath.Join(CgroupRoot, own), v2: true}
		}
		return memCgroup{}
	}
	if own, err := cgroupIn(kernel, "memory"); err == nil {
		return memCgroup{dir: filepath.Join(CgroupRoot, "memory", own)}
	}
	return memCgroup{}
}

// limit is the cgroup's memory limit, its ancestors' included (0: none).
func (m memCgroup) limit(stat map[string]uint64) uint64 {
	if !m.v2 {
		return stat["hierarchical_memory_limit"]
	}
	lim := uint64(0)
	for d := m.dir; strings.HasPrefix(d, CgroupRoot+"/"); d = filepath.Dir(d) {
		if v, ok := readCgroupUint(d, "memory.max"); ok && (lim == 0 || v < lim) {
			lim = v
		}
	}
	return lim
}

// stat reads memory.stat; on v1 the hierarchical totals (total_*) are
// named as on v2.
func (m memCgroup) stat() map[string]uint64 {
	f, err := os.Open(filepath.Join(m.dir, "memory.stat"))
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			continue
		}
		if !m.v2 {
			if t, ok := strings.CutPrefix(k, "total_"); ok {
				k = map[string]string{"cache": "file", "rss": "anon", "mapped_file": "file_mapped",
					"dirty": "file_dirty", "writeback": "file_writeback"}[t]
				if k == "" {
					k = t
				}
			} else if k != "hierarchical_memory_limit" {
				continue
			}
		}
		out[k] = n
	}
	return out
}

// apply puts the cgroup's figures in place of the host's in mem (a
// meminfo in bytes) when the cgroup limits the node below the host's
// memory, as lxcfs does for a container: the limit is the total, what
// the cgroup uses is not free, its page cache is cached and available.
// Lines that say nothing of the node (the kernel's slab, page tables…)
// are left out.
func (m memCgroup) apply(mem map[string]uint64) {
	if m.dir == "" {
		return
	}
	st := m.stat()
	lim := m.limit(st)
	if lim == 0 || lim >= mem["MemTotal"] {
		return
	}
	used := st["anon"] + st["file"]
	hostAvail := mem["MemAvailable"]
	for k := range mem {
		if k != "SwapTotal" && k != "SwapFree" && k != "VmallocTotal" && k != "Hugepagesize" {
			delete(mem, k)
		}
	}
	mem["MemTotal"] = lim
	mem["MemFree"] = lim - min(used, lim)
	mem["MemAvailable"] = min(mem["MemFree"]+st["inactive_file"]+st["active_file"], hostAvail, lim)
	mem["Buffers"] = 0
	mem["Cached"] = st["file"]
	mem["Active"] = st["active_anon"] + st["active_file"]
	mem["Inactive"] = st["inactive_anon"] + st["inactive_file"]
	for k, from := range map[string]string{"Active(anon)": "active_anon", "Inactive(anon)": "inactive_anon",
		"Active(file)": "active_file", "Inactive(file)": "inactive_file", "Unevictable": "unevictable",
		"AnonPages": "anon", "Mapped": "file_mapped", "Shmem": "shmem", "Dirty": "file_dirty",
		"Writeback": "file_writeback"} {
		mem[k] = st[from]
	}
}

// readCgroupUint reads a cgroup file holding a number ("max": none).
func readCgroupUint(dir, name string) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

// mountView mounts the cluster view of figures over the kernel's files
// in the node's mount namespace. Without FUSE the kernel's files stay, and a
// log line says so.
func mountView(figures *procfs.Cache, log *slog.Logger) *procfs.View {
	v, err := procfs.Mount(procfs.Config{Cache: figures, Log: log})
	if err != nil {
		log.Warn("cluster /proc view unavailable: /proc/cpuinfo, stat, meminfo… stay the kernel's", "err", err)
		return nil
	}
	return v
}

// kernelProc is the kernel's procfs for the node's own reads once the
// view covers /proc: a detached copy of the mount, or /proc itself if
// none can be made (then no view is mounted either).
func kernelProc(log *slog.Logger) (procview.FS, bool) {
	k, err := procfs.Kernel()
	if err != nil {
		log.Warn("cluster /proc view unavailable", "err", err)
		return procview.Proc, false
	}
	return k, true
}

// viewSource is the cluster view's Source on a daemon: the figures of
// the members that are not down, in member order, each asked of its node
// (this one's read here). A member that does not answer in time (a
// loaded host, a slow link) shows its last answer: the totals change
// when membership does (a node declared down leaves them within the
// liveness timeout), not with every late reply.
func (cn *Cluster) viewSource() procfs.Source {
	last := map[string]procview.NodeStat{}
	var lastMu sync.Mutex
	return func(ctx context.Context) ([]procview.NodeStat, error) {
		members, stats := cn.viewStats(ctx)
		lastMu.Lock()
		defer lastMu.Unlock()
		return withLast(members, stats, last), nil
	}
}

// withLast is the figures of members: stats[i] where it answered (and
// now remembered in last), else its last answer; a member never heard
// of is left out. Members absent from the list are forgotten.
func withLast(members []raftstate.Member, stats []*procview.NodeStat, last map[string]procview.NodeStat) []procview.NodeStat {
	var out []procview.NodeStat
	keep := map[string]bool{}
	for i, m := range members {
		keep[m.ID] = true
		if stats[i] != nil {
			last[m.ID] = *stats[i]
		}
		if st, ok := last[m.ID]; ok {
			out = append(out, st)
		}
	}
	for id := range last {
		if !keep[id] {
			delete(last, id)
		}
	}
	return out
}

// viewStats asks the members that are not down for their figures, in
// member order; nil where one did not answer.
func (cn *Cluster) viewStats(ctx context.Context) ([]raftstate.Member, []*procview.NodeStat) {
	var members []raftstate.Member
	for _, m := range cn.store.Members() {
		if m.State != raftstate.StateDown {
			members = append(members, m)
		}
	}
	stats := make([]*procview.NodeStat, len(members))
	var mu sync.Mutex
	fanOut(ctx, members, "", queryTimeout, func(ctx context.Context, m raftstate.Member) error {
		st, err := cn.statusOf(ctx, m)
		if err != nil || st.Stat == nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range members {
			if members[i].ID == m.ID {
				stats[i] = st.Stat
			}
		}
		return nil
	})
	return members, stats
}
