package procview

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eightNodes is the request's picture: eight nodes of eight CPUs and
// 8 GiB each, on eight kernels.
func eightNodes() []NodeStat {
	var nodes []NodeStat
	for n := range 8 {
		st := NodeStat{Node: fmt.Sprintf("n%d", n+1), BootID: fmt.Sprintf("boot-%d", n), BootTime: int64(1000 + n),
			Uptime: float64(100 * (n + 1)), Load: [3]float64{1, 0.5, 0.25}, Running: 2, Threads: 100, LastPID: 4100 + n,
			Ctxt: 10, Processes: 20, ProcsRunning: 1, Intr: 30, Softirq: 40,
			Mem: map[string]uint64{"MemTotal": 8 << 30, "MemFree": 6 << 30, "MemAvailable": 7 << 30, "Cached": 1 << 30,
				"SwapTotal": 0, "SwapFree": 0, "Hugepagesize": 2 << 20, "HugePages_Total": 1}}
		for c := range 8 {
			st.CPUs = append(st.CPUs, CPUStat{CPU: c, Ticks: [10]uint64{1, 0, 2, 300, 0, 0, 0, 0, 0, 0},
				Info: "vendor_id\t: GenuineIntel\nmodel name\t: Test CPU", Core: c})
		}
		st.VMStat = map[string]uint64{"pgpgin": 5, "pswpout": 1}
		nodes = append(nodes, st)
	}
	return nodes
}

// TestRenderEightNodes: 64 processors and 64 GiB in every file procps
// reads.
func TestRenderEightNodes(t *testing.T) {
	nodes := eightNodes()
	info := string(RenderCPUInfo(nodes))
	if n := strings.Count(info, "processor\t: "); n != 64 || !strings.Contains(info, "processor\t: 63\nvendor_id") {
		t.Errorf("cpuinfo has %d processors, want 64 numbered 0-63:\n%.300s", n, info)
	}
	stat := string(RenderStat(nodes))
	lines := strings.Split(stat, "\n")
	if lines[0] != "cpu  64 0 128 19200 0 0 0 0 0 0" || lines[64] != "cpu63 1 0 2 300 0 0 0 0 0 0" || lines[65] != "intr 240" {
		t.Errorf("stat:\n%s", stat)
	}
	for _, want := range []string{"\nctxt 80\n", "\nbtime 1000\n", "\nprocesses 160\n", "\nprocs_running 8\n"} {
		if !strings.Contains(stat, want) {
			t.Errorf("stat lacks %q:\n%s", want, stat)
		}
	}
	mem := string(RenderMemInfo(nodes))
	if !strings.HasPrefix(mem, "MemTotal:       67108864 kB\nMemFree:        50331648 kB\nMemAvailable:   58720256 kB\nCached:          8388608 kB\n") ||
		!strings.Contains(mem, "HugePages_Total:       8\nHugepagesize:       2048 kB\n") {
		t.Errorf("meminfo:\n%s", mem)
	}
	if got := string(RenderLoadAvg(nodes)); got != "8.00 4.00 2.00 16/800 4100\n" {
		t.Errorf("loadavg %q", got)
	}
	if got := string(RenderUptime(nodes)); got != "800.00 192.00\n" {
		t.Errorf("uptime %q", got)
	}
	if got := string(RenderCPURange(nodes)); got != "0-63\n" {
		t.Errorf("cpu online %q", got)
	}
	if got := string(RenderVMStat(nodes)); got != "pgpgin 40\npswpout 8\n" {
		t.Errorf("vmstat %q", got)
	}
	// lscpu's topology: 8 sockets (one per kernel) of 8 cores of one
	// thread.
	for _, c := range []struct {
		cpu        int
		file, want string
	}{
		{63, "physical_package_id", "7"}, {63, "core_id", "7"}, {63, "core_siblings_list", "56-63"},
		{63, "thread_siblings_list", "63"}, {63, "thread_siblings", "80000000,00000000"},
		{0, "package_cpus", "00000000,000000ff"}, {9, "core_cpus_list", "9"}, {64, "core_id", ""},
	} {
		if got := strings.TrimSpace(string(RenderTopology(nodes, c.cpu, c.file))); got != c.want {
			t.Errorf("cpu%d/topology/%s: %q, want %q", c.cpu, c.file, got, c.want)
		}
	}
	if mem := MemTotals(nodes); mem["MemTotal"] != 64<<30 {
		t.Errorf("MemTotal %d, want 64 GiB", mem["MemTotal"])
	}
	if p, ok := PlaceOf(nodes, "n3"); !ok || p.Offset != 16 || p.Total != 64 || p.Global(7) != 23 || p.HostOf(24) != -1 {
		t.Errorf("n3's CPUs: %+v", p)
	}
}

// Nodes sharing a kernel (a local --split cluster) share its sockets
// and cores, as on the host.
func TestTopologyOneKernel(t *testing.T) {
	nodes := []NodeStat{
		{Node: "n1", BootID: "a", CPUs: []CPUStat{{CPU: 0, Core: 0}}},
		{Node: "n2", BootID: "a", CPUs: []CPUStat{{CPU: 1, Core: 1}}},
		{Node: "n3", BootID: "b", CPUs: []CPUStat{{CPU: 0, Core: 0}, {CPU: 1, Core: 0}}},
	}
	for _, c := range []struct {
		cpu        int
		file, want string
	}{
		{1, "physical_package_id", "0"}, {1, "core_siblings_list", "0-1"}, {1, "thread_siblings", "2"},
		{2, "physical_package_id", "1"}, {3, "thread_siblings_list", "2-3"}, {3, "core_siblings", "c"},
	} {
		if got := strings.TrimSpace(string(RenderTopology(nodes, c.cpu, c.file))); got != c.want {
			t.Errorf("cpu%d/topology/%s: %q, want %q", c.cpu, c.file, got, c.want)
		}
	}
	if got := CPUList([]int{6, 0, 1, 2, 3, 9, 10}); got != "0-3,6,9-10" {
		t.Errorf("list %q", got)
	}
	if got := CPUMask([]int{0, 33}, 40); got != "02,00000001" {
		t.Errorf("mask %q", got)
	}
}

// TestOneKernelCountedOnce: nodes sharing a kernel (a local cluster)
// count its load and counters once, their CPUs and memory each.
func TestOneKernelCountedOnce(t *testing.T) {
	nodes := eightNodes()[:2]
	nodes[1].BootID = nodes[0].BootID
	nodes[0].Swaps = []string{"/swap file 1024 0 -2"}
	if got := string(RenderLoadAvg(nodes)); got != "1.00 0.50 0.25 2/100 4100\n" {
		t.Errorf("loadavg %q", got)
	}
	if got := string(RenderSwaps(nodes)); strings.Count(got, "/swap") != 1 {
		t.Errorf("swaps %q", got)
	}
	if n := CPUCount(nodes); n != 16 {
		t.Errorf("%d CPUs", n)
	}
}

// TestReadNodeStat reads this machine's kernel for its CPUs and checks
// the figures against the files themselves.
func TestReadNodeStat(t *testing.T) {
	st, err := Proc.ReadNodeStat("n1", []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.CPUs) != 1 || st.CPUs[0].Ticks[3] == 0 || !strings.Contains(st.CPUs[0].Info, "model name") {
		t.Errorf("cpu 0: %+v", st.CPUs)
	}
	m, err := ReadMemInfo()
	if err != nil || st.Mem["MemTotal"] != m.Total {
		t.Errorf("MemTotal %d, meminfo says %d (%v)", st.Mem["MemTotal"], m.Total, err)
	}
	if len(st.BootID) != 36 || st.BootTime == 0 || st.Uptime == 0 || st.Threads == 0 || st.Processes == 0 {
		t.Errorf("node stat: %+v", st)
	}
	// The rendering of one node reads like the kernel's own, line by line
	// for the meminfo keys the kernel has.
	kernel, _ := os.ReadFile("/proc/meminfo")
	rendered := RenderMemInfo([]NodeStat{*st})
	sc := bufio.NewScanner(bytes.NewReader(rendered))
	for sc.Scan() {
		key, _, _ := strings.Cut(sc.Text(), ":")
		if key == "MemTotal" && !bytes.Contains(kernel, []byte(sc.Text()+"\n")) {
			t.Errorf("rendered %q, kernel's meminfo:\n%s", sc.Text(), kernel)
		}
	}
}

// TestReadNodeStatFS reads a procfs laid out in a directory.
func TestReadNodeStatFS(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"stat":    "cpu  5 0 5 50 0 0 0 0 0 0\ncpu0 1 0 1 10 0 0 0 0 0 0\ncpu1 4 0 4 40 0 0 0 0 0 0\nintr 7 1 2\nctxt 8\nbtime 9\nprocesses 10\nprocs_running 2\nprocs_blocked 1\nsoftirq 11 0\n",
		"cpuinfo": "processor\t: 0\nmodel name\t: A\n\nprocessor\t: 1\nmodel name\t: B\n\n",
		"meminfo": "MemTotal:        1000 kB\nHugePages_Total:       3\n",
		"loadavg": "0.50 0.25 0.10 3/42 777\n",
		"uptime":  "12.5 20.0\n",
		"swaps":   "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 1024 0 -2\n",
		"vmstat":  "nr_free_pages 12\npgpgin 3\n",
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "sys/kernel/random"), 0o755)
	os.WriteFile(filepath.Join(dir, "sys/kernel/random/boot_id"), []byte("b\n"), 0o644)
	st, err := FS(dir).ReadNodeStat("n", []int{1})
	if err != nil {
		t.Fatal(err)
	}
	want := NodeStat{Node: "n", BootID: "b", BootTime: 9, Uptime: 12.5,
		CPUs: []CPUStat{{CPU: 1, Ticks: [10]uint64{4, 0, 4, 40}, Info: "model name\t: B"}},
		Mem:  map[string]uint64{"MemTotal": 1024000, "HugePages_Total": 3},
		Load: [3]float64{0.5, 0.25, 0.1}, Running: 3, Threads: 42, LastPID: 777,
		Ctxt: 8, Processes: 10, ProcsRunning: 2, ProcsBlocked: 1, Intr: 7, Softirq: 11,
		Swaps: []string{"/dev/sda2 partition 1024 0 -2"}, VMStat: map[string]uint64{"nr_free_pages": 12, "pgpgin": 3}}
	if fmt.Sprintf("%+v", *st) != fmt.Sprintf("%+v", want) {
		t.Errorf("ReadNodeStat:\n got %+v\nwant %+v", *st, want)
	}
	if s := string(RenderStat([]NodeStat{*st})); !strings.HasPrefix(s, "cpu  4 0 4 40 0 0 0 0 0 0\ncpu0 4 0 4 40") {
		t.Errorf("one node's stat renumbers its CPU 1 as cpu0:\n%s", s)
	}
}
