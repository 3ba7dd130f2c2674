package procfs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd/procview"
)

// childEnv makes the test binary the child that mounts a view in a
// mount namespace of its own (TestMain).
const childEnv = "HERD_PROCFS_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// seen is what the child read with the view mounted and after Close.
type seen struct {
	Files  map[string]string // the covered files, read while mounted
	After  string            // /proc/meminfo after Close
	Kernel string            // the kernel's /proc/meminfo through Kernel()
	Self   string            // /proc/self/stat, read while mounted
	CPUDir []string          // the names in /sys/devices/system/cpu
}

// child mounts a view of two nodes made of this machine's CPU 0 and
// memory, reads the files, closes the view and reads again.
func child() int {
	kernel, err := Kernel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	src := func(context.Context) ([]procview.NodeStat, error) {
		st, err := kernel.ReadNodeStat("n1", []int{0})
		if err != nil {
			return nil, err
		}
		two := *st
		two.Node, two.BootID = "n2", "other"
		return []procview.NodeStat{*st, two}, nil
	}
	v, err := Mount(Config{Source: src})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var s seen
	s.Files = map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f.over)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s.Files[f.over] = string(b)
	}
	for _, p := range []string{"online", "cpu1/topology/core_siblings_list", "cpu1/topology/physical_package_id",
		"cpu0/topology/thread_siblings", "kernel_max"} {
		b, err := os.ReadFile(sysCPU + "/" + p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s.Files[sysCPU+"/"+p] = string(b)
	}
	ents, _ := os.ReadDir(sysCPU)
	for _, e := range ents {
		s.CPUDir = append(s.CPUDir, e.Name())
	}
	b, _ := os.ReadFile("/proc/self/stat")
	s.Self = string(b)
	m, _ := kernel.ReadNodeStat("n1", nil)
	s.Kernel = fmt.Sprintf("MemTotal: %d kB\n", m.Mem["MemTotal"]/1024)
	if err := v.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ = os.ReadFile("/proc/meminfo")
	s.After = string(b)
	json.NewEncoder(os.Stdout).Encode(s)
	return 0
}

// TestView mounts the view in a mount namespace of its own: the covered
// files show two nodes' worth, the rest of /proc stays the kernel's, and
// Close shows the kernel's files again.
func TestView(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE and bind mounts needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse on this host")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	var s seen
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	if got := s.Files["/sys/devices/system/cpu/online"]; got != "0-1\n" {
		t.Errorf("cpu online %q, want 0-1", got)
	}
	// Two kernels of one package each: two sockets of one core.
	for p, want := range map[string]string{"cpu1/topology/core_siblings_list": "1\n",
		"cpu1/topology/physical_package_id": "1\n", "cpu0/topology/thread_siblings": "1\n"} {
		if got := s.Files[sysCPU+"/"+p]; got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	if k, _ := os.ReadFile(sysCPU + "/kernel_max"); s.Files[sysCPU+"/kernel_max"] != string(k) {
		t.Errorf("kernel_max %q, the host's %q", s.Files[sysCPU+"/kernel_max"], k)
	}
	if !slices.Contains(s.CPUDir, "cpu1") || !slices.Contains(s.CPUDir, "online") || !slices.Contains(s.CPUDir, "vulnerabilities") ||
		slices.Contains(s.CPUDir, "cpu2") {
		t.Errorf("/sys/devices/system/cpu lists %q", s.CPUDir)
	}
	info := s.Files["/proc/cpuinfo"]
	if !strings.Contains(info, "processor\t: 0\n") || !strings.Contains(info, "processor\t: 1\n") || strings.Count(info, "processor") != 2 {
		t.Errorf("cpuinfo:\n%s", info)
	}
	stat := strings.Split(s.Files["/proc/stat"], "\n")
	if !strings.HasPrefix(stat[1], "cpu0 ") || !strings.HasPrefix(stat[2], "cpu1 ") || strings.HasPrefix(stat[3], "cpu") {
		t.Errorf("stat:\n%s", s.Files["/proc/stat"])
	}
	kernelTotal := strings.Fields(strings.SplitN(s.Kernel, "\n", 2)[0])
	viewTotal := strings.Fields(strings.SplitN(s.Files["/proc/meminfo"], "\n", 2)[0])
	var k, v uint64
	fmt.Sscan(kernelTotal[1], &k)
	fmt.Sscan(viewTotal[1], &v)
	if k == 0 || v != 2*k {
		t.Errorf("MemTotal %v in the view, want twice the kernel's %v", viewTotal, kernelTotal)
	}
	// Two kernels: each counter twice this one's.
	if vm := s.Files["/proc/vmstat"]; !regexp.MustCompile(`(?m)^pgfault [0-9]+$`).MatchString(vm) {
		t.Errorf("vmstat:\n%.300s", vm)
	}
	if !strings.HasPrefix(s.After, "MemTotal:") || s.After == s.Files["/proc/meminfo"] {
		t.Errorf("meminfo after Close is not the kernel's:\n%s", s.After)
	}
	// The kernel's line: pid, (comm), state. Its state is the thread
	// group leader's, which need not be the reading thread (R).
	if !regexp.MustCompile(`^[0-9]+ \(.*\) [A-Z] `).MatchString(s.Self) {
		t.Errorf("/proc/self/stat is not the kernel's: %q", s.Self)
	}
}
