package procview

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// NodeStat is what a node tells the cluster view of itself, read live
// from its kernel and cgroup: the files of the view (cluster.go) are
// rendered from the NodeStats of every node.
type NodeStat struct {
	Node string `json:"node"`
	// BootID names the node's kernel: counters of the whole kernel
	// (context switches, forks, load) are counted once per kernel, so
	// that local nodes on one host do not count the host N times.
	BootID   string  `json:"boot_id"`
	BootTime int64   `json:"btime"`  // the kernel's boot, seconds since the epoch
	Uptime   float64 `json:"uptime"` // seconds
	// CPUs are the node's CPUs (its cgroup's), in its order.
	CPUs []CPUStat `json:"cpus"`
	// Mem is the node's /proc/meminfo in bytes (HugePages_ counts as
	// they are), its cgroup's figures in place of the host's.
	Mem map[string]uint64 `json:"mem"`

	Load         [3]float64 `json:"load"`
	Running      int        `json:"running"` // loadavg's runnable entities
	Threads      int        `json:"threads"` // and all of them
	LastPID      int        `json:"last_pid"`
	Ctxt         uint64     `json:"ctxt"`
	Processes    uint64     `json:"processes"` // forks since boot
	ProcsRunning uint64     `json:"procs_running"`
	ProcsBlocked uint64     `json:"procs_blocked"`
	Intr         uint64     `json:"intr"`
	Softirq      uint64     `json:"softirq"`
	// Swaps are the lines of /proc/swaps after its header.
	Swaps []string `json:"swaps,omitempty"`
	// VMStat is the kernel's /proc/vmstat (its event and page counters).
	VMStat map[string]uint64 `json:"vmstat,omitempty"`
}

// CPUStat is one CPU of a node.
type CPUStat struct {
	CPU int `json:"cpu"` // the node's own number for it
	// Ticks are its /proc/stat times in USER_HZ: user nice system idle
	// iowait irq softirq steal guest guest_nice.
	Ticks [10]uint64 `json:"ticks"`
	// Info is its /proc/cpuinfo block without the processor line.
	Info string `json:"info,omitempty"`
	// Package, Die and Core are its topology on its host
	// (/sys/devices/system/cpu/cpuN/topology).
	Package int `json:"package"`
	Die     int `json:"die"`
	Core    int `json:"core"`
}

// ReadNodeStat reads what the kernel whose procfs is fs says of the
// CPUs cpus (the node's) and of its memory, load and counters.
func (fs FS) ReadNodeStat(node string, cpus []int) (*NodeStat, error) {
	st := &NodeStat{Node: node}
	for _, c := range cpus {
		st.CPUs = append(st.CPUs, CPUStat{CPU: c})
	}
	for _, r := range []struct {
		name  string
		parse func([]byte) error
	}{
		{"stat", st.parseStat},
		{"cpuinfo", st.parseCPUInfo},
		{"meminfo", st.parseMemInfo},
		{"loadavg", st.parseLoadAvg},
		{"uptime", st.parseUptime},
		{"swaps", st.parseSwaps},
		{"vmstat", st.parseVMStat},
		{"sys/kernel/random/boot_id", func(b []byte) error { st.BootID = string(bytes.TrimSpace(b)); return nil }},
	} {
		if err := fs.read(-1, r.name, false, r.parse); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// cpu is the node's CPUStat of the host's CPU n, or nil.
func (st *NodeStat) cpu(n int) *CPUStat {
	for i := range st.CPUs {
		if st.CPUs[i].CPU == n {
			return &st.CPUs[i]
		}
	}
	return nil
}

func (st *NodeStat) parseStat(b []byte) error {
	var btime uint64
	counters := map[string]*uint64{"ctxt": &st.Ctxt, "btime": &btime, "processes": &st.Processes,
		"procs_running": &st.ProcsRunning, "procs_blocked": &st.ProcsBlocked, "intr": &st.Intr, "softirq": &st.Softirq}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		key, i := field(line, 0)
		if n, ok := bytes.CutPrefix(key, []byte("cpu")); ok && len(n) > 0 {
			if err := st.parseCPULine(n, line, i); err != nil {
				return err
			}
			continue
		}
		if dst := counters[string(key)]; dst != nil {
			first, _ := field(line, i)
			var err error
			if *dst, err = parseUint(first, 10); err != nil {
				return err
			}
		}
	}
	st.BootTime = int64(btime)
	return nil
}

// parseCPULine reads the times of /proc/stat's line "cpuN …" (n is N,
// the times start at i) if N is one of the node's CPUs.
func (st *NodeStat) parseCPULine(n, line []byte, i int) error {
	cpu, err := atoi(n)
	if err != nil {
		return err
	}
	c := st.cpu(cpu)
	if c == nil {
		return nil
	}
	for t := range c.Ticks {
		var f []byte
		if f, i = field(line, i); len(f) > 0 {
			if c.Ticks[t], err = parseUint(f, 10); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *NodeStat) parseCPUInfo(b []byte) error {
	for _, block := range strings.Split(string(b), "\n\n") {
		first, rest, _ := strings.Cut(block, "\n")
		k, v, ok := strings.Cut(first, ":")
		if !ok || strings.TrimSpace(k) != "processor" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("cpuinfo: processor %q", v)
		}
		if c := st.cpu(n); c != nil {
			c.Info = strings.TrimRight(rest, "\n")
		}
	}
	return nil
}

func (st *NodeStat) parseMemInfo(b []byte) error {
	st.Mem = map[string]uint64{}
	return keyValues(b, func(k, v []byte) error {
		mult := uint64(1)
		if n, isKB := bytes.CutSuffix(v, []byte(" kB")); isKB {
			v, mult = trim(n), 1024
		}
		n, err := parseUint(v, 10)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		st.Mem[string(k)] = n * mult
		return nil
	})
}

func (st *NodeStat) parseLoadAvg(b []byte) error {
	_, err := fmt.Sscanf(string(b), "%g %g %g %d/%d %d", &st.Load[0], &st.Load[1], &st.Load[2],
		&st.Running, &st.Threads, &st.LastPID)
	return err
}

func (st *NodeStat) parseUptime(b []byte) error {
	_, err := fmt.Sscanf(string(b), "%g", &st.Uptime)
	return err
}

func (st *NodeStat) parseSwaps(b []byte) error {
	_, b = nextLine(b) // the header
	for len(b) > 0 {
		var line []byte
		if line, b = nextLine(b); len(line) > 0 {
			st.Swaps = append(st.Swaps, string(line))
		}
	}
	return nil
}

func (st *NodeStat) parseVMStat(b []byte) error {
	st.VMStat = map[string]uint64{}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		k, i := field(line, 0)
		v, _ := field(line, i)
		if len(k) == 0 {
			continue
		}
		n, err := parseUint(v, 10)
		if err != nil {
			return fmt.Errorf("vmstat %s: %w", k, err)
		}
		st.VMStat[string(k)] = n
	}
	return nil
}
