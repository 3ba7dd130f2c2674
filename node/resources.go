package node

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"herd/procview"
	"herd/remote"
)

// Confine makes the cgroup of the node cfg describes when it asks for
// limits (--cpus, --memory), for the caller to Enter before it starts the
// daemon; nil when it does not (the node has what its caller has). A
// cgroup a crashed node left for the same data directory is removed.
func Confine(cfg Config) (*Cgroup, error) {
	key := CgroupKey(cfg.DataDir)
	if cfg.CPUs == "" && cfg.Memory == "" {
		return nil, RemoveStaleCgroup(key)
	}
	var lim Limits
	var err error
	if cfg.CPUs != "" {
		if lim.CPUs, err = parseCPUList(cfg.CPUs); err != nil {
			return nil, &UsageError{err.Error()}
		}
	}
	if cfg.Memory != "" {
		if lim.Memory, err = parseSize(cfg.Memory); err != nil {
			return nil, &UsageError{err.Error()}
		}
	}
	return NewCgroup(key, lim)
}

// offered is the CPUs and memory a node offers: cpus as a list like
// "0-3,6" ("" for the CPUs this process may run on) and memory like "8G"
// ("" for all of the host's).
func offered(cpus, memory string) ([]int, uint64, error) {
	list, err := cpuList(cpus)
	if err != nil {
		return nil, 0, err
	}
	var mem uint64
	if memory == "" {
		mem, err = memTotal()
	} else {
		mem, err = parseSize(memory)
	}
	if err != nil {
		return nil, 0, err
	}
	return list, mem, nil
}

func cpuList(cpus string) ([]int, error) {
	if cpus != "" {
		return parseCPUList(cpus)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read cpu affinity: %w", err)
	}
	var list []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			list = append(list, i)
		}
	}
	return list, nil
}

// parseCPUList parses a kernel-style CPU list: "0-3,6".
func parseCPUList(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 1<<16 {
			return nil, fmt.Errorf("cpu list %q: bad element %q", s, part)
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out, nil
}

// parseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024).
func parseSize(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	mult := uint64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil || v == 0 || v > (1<<63)/mult {
		return 0, fmt.Errorf("memory size %q: want a number with an optional K, M, G or T", s)
	}
	return v * mult, nil
}

func memTotal() (uint64, error) {
	m, err := procview.ReadMemInfo()
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	return m.Total, nil
}

// defaultName is the default node id: the host name, made a valid id.
func defaultName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	h, _, _ = strings.Cut(h, ".")
	if remote.ValidateNodeID(h) != nil {
		return "node"
	}
	return h
}

// advertiseHosts are the names a node's certificate is issued for: the
// host of its advertised address.
func advertiseHosts(addr string) ([]string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return nil, fmt.Errorf("address %q is not dialable: give --advertise", addr)
	}
	return []string{host}, nil
}

// SplitHost divides the host's CPUs (those this process may run on) and
// memory among n nodes, for a local cluster whose totals are the host's:
// node i gets the i-th run of CPUs and an n-th of the memory (the last
// node what is left, so that the parts add up to the whole).
func SplitHost(n int) ([]Limits, error) {
	cpus, err := cpuList("")
	if err != nil {
		return nil, err
	}
	if n < 1 || n > len(cpus) {
		return nil, fmt.Errorf("cannot split %d CPUs among %d nodes: each node needs one of its own", len(cpus), n)
	}
	mem, err := memTotal()
	if err != nil {
		return nil, err
	}
	// Page-aligned: the kernel rounds a memory limit down to pages.
	each := mem / uint64(n) &^ (4096 - 1)
	parts := make([]Limits, n)
	for i := range parts {
		parts[i] = Limits{CPUs: cpus[i*len(cpus)/n : (i+1)*len(cpus)/n], Memory: each}
	}
	parts[n-1].Memory = mem - each*uint64(n-1)
	return parts, nil
}

// Flags are the herd node flags that ask for these limits.
func (l Limits) Flags() []string {
	var f []string
	if l.CPUs != nil {
		f = append(f, "--cpus", formatCPUList(l.CPUs))
	}
	if l.Memory > 0 {
		f = append(f, "--memory", strconv.FormatUint(l.Memory, 10))
	}
	return f
}
