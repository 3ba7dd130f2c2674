package cluster

// Issue 9, first part: a node's --cpus and --memory are real (its cgroup),
// and inside herd the files that describe the machine describe the
// cluster (the FUSE view of node/procfs). Compared with what the same
// commands say natively on this host.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// native runs sh -c script on the host, outside herd.
func native(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("native %q: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

// inside runs sh -c script in herd through the node socket sock.
func inside(t *testing.T, sock, script string) string {
	t.Helper()
	out, errOut, status := herd(t, sock, "run", "--", "sh", "-c", script)
	if status != 0 {
		t.Fatalf("herd run %q: status %d\n%s%s", script, status, out, errOut)
	}
	return strings.TrimSpace(out)
}

// memTotalKB is the number of the first line of a meminfo.
func memTotalKB(t *testing.T, line string) uint64 {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "MemTotal:" {
		t.Fatalf("not a MemTotal line: %q", line)
	}
	v, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNodeCgroup: herd node --cpus 0 --memory 256M confines what runs in
// it to CPU 0 and 256 MiB (a program that touches 600 MiB is killed), and
// its cgroup is gone when the node has stopped.
func TestNodeCgroup(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "herd.sock")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(herdBin, "node", "--data-dir", filepath.Join(dir, "n1"), "--listen", addr,
		"--bootstrap", "--socket", sock, "--cpus", "0", "--memory", "256M", "--election-timeout", "500ms")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "node.log"))
			t.Logf("node log:\n%s", b)
		}
	}()
	waitFor(t, 60*time.Second, "the node serves", func() bool {
		_, _, status := herd(t, sock, "nodes")
		return status == 0
	})
	cgroups := native(t, "grep herd/ /proc/"+strconv.Itoa(cmd.Process.Pid)+"/cgroup | cut -d: -f2-")
	if !strings.Contains(cgroups, "cpuset:") && !strings.HasPrefix(cgroups, ":/herd/") {
		t.Fatalf("herd node is in no herd cgroup: %q", cgroups)
	}
	if got := inside(t, sock, "nproc; grep Cpus_allowed_list /proc/self/status"); got != "1\nCpus_allowed_list:\t0" {
		t.Errorf("nproc and the affinity on a node of --cpus 0: %q", got)
	}
	_, _, status := herd(t, sock, "run", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=600M", "count=1")
	if status != 128+int(syscall.SIGKILL) {
		t.Errorf("dd of 600 MiB on a node of 256 MiB exited %d, want killed (137)", status)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	stopped = true
	for _, line := range strings.Split(cgroups, "\n") {
		ctl, path, _ := strings.Cut(line, ":")
		d := filepath.Join("/sys/fs/cgroup", ctl, path)
		if ctl == "" {
			d = filepath.Join("/sys/fs/cgroup", path)
		}
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left after the node stopped", d)
		}
	}
}

// upSplit starts n nodes with the host divided among them (--split).
func upSplit(t *testing.T, n int, split bool) *testCluster {
	t.Helper()
	c := newCluster(t, n)
	args := []string{"cluster", "up", "--nodes", strconv.Itoa(n), "--dir", c.dir}
	if split {
		args = append(args, "--split")
	}
	if out, err := exec.Command(herdBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("herd %v: %v\n%s", args, err, out)
	}
	return c
}

// TestClusterViewSplit: on two nodes that split this host, every node
// sees the host's CPUs and memory as the cluster's (the sums of the
// nodes' shares), while its processes may use only its own CPU; the
// tools that read the files parse them; a process's own entries stay the
// kernel's.
func TestClusterViewSplit(t *testing.T) {
	needRoot(t)
	if n, _ := strconv.Atoi(native(t, "nproc")); n != 2 {
		t.Skipf("wants a host of exactly 2 CPUs for 2 split nodes of one CPU, this one has %d", n)
	}
	c := upSplit(t, 2, true)
	want := native(t, "nproc --all; grep -c ^processor /proc/cpuinfo; head -1 /proc/meminfo; cat /sys/devices/system/cpu/online")
	for i := 1; i <= 2; i++ {
		got := inside(t, c.sock(i), "nproc --all; grep -c ^processor /proc/cpuinfo; head -1 /proc/meminfo; cat /sys/devices/system/cpu/online")
		if got != want {
			t.Errorf("n%d: nproc --all, processors, MemTotal, online:\n%s\nwant the host's:\n%s", i, got, want)
		}
		if got := inside(t, c.sock(i), "nproc"); got != "1" {
			t.Errorf("n%d: nproc %q, want 1 (the node's own CPU)", i, got)
		}
		stat := inside(t, c.sock(i), "grep ^cpu /proc/stat | cut -d' ' -f1")
		if stat != "cpu\ncpu0\ncpu1" {
			t.Errorf("n%d: /proc/stat cpu lines %q", i, stat)
		}
		self := strings.Fields(inside(t, c.sock(i), `read -r l < /proc/self/stat; echo $$ ${l%% *}`))
		if len(self) != 2 || self[0] != self[1] {
			t.Errorf("n%d: /proc/self/stat is not the reader's own: %q", i, self)
		}
	}
	if _, err := exec.LookPath("free"); err == nil {
		total := func(out string) string {
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); len(f) > 1 && f[0] == "Mem:" {
					return f[1]
				}
			}
			return ""
		}
		if got, want := total(inside(t, c.sock(1), "free -k")), total(native(t, "free -k")); got == "" || got != want {
			t.Errorf("free -k total inside %q, host %q", got, want)
		}
	}
	checkSplitTools(t, c)
	for _, top := range []string{"top -b -n1", "busybox top -b -n1"} {
		if _, err := exec.LookPath(strings.Fields(top)[0]); err != nil {
			continue
		}
		if out := inside(t, c.sock(2), top+" | head -5"); !strings.Contains(out, "oad average") {
			t.Errorf("%s inside herd:\n%s", top, out)
		}
	}
}

// checkSplitTools: on a cluster that splits this host, what the tools
// and calls that describe the machine say inside herd on every node is
// what they say natively: sysinfo's memory (getconf _PHYS_PAGES),
// free -b's and top's totals, vmstat's, lscpu's topology; and a node's
// own CPU is its global number (taskset), another node's refused.
func checkSplitTools(t *testing.T, c *testCluster) {
	t.Helper()
	for _, tool := range []string{"lscpu", "free", "top", "vmstat", "getconf", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("no %s on this host: its checks are skipped", tool)
			return
		}
	}
	script := `getconf _PHYS_PAGES; getconf _NPROCESSORS_CONF; free -b | awk '/^Mem:|^Swap:/ {print $1, $2}'
		top -b -n1 | grep -E '^(MiB|KiB) (Mem|Swap)' | awk '{print $1, $2, $4}'
		vmstat -s | grep -E 'total (memory|swap)'; lscpu | grep -v MHz`
	want := native(t, script)
	for i := 1; i <= c.n; i++ {
		if got := inside(t, c.sock(i), script); got != want {
			t.Errorf("n%d: the machine inside herd:\n%s\nnatively:\n%s", i, got, want)
		}
		cpu := strconv.Itoa(i - 1) // node i has the host's CPU i-1, the cluster's i-1
		if got := inside(t, c.sock(i), "taskset -cp $$ | sed 's/.*: //'; taskset -c "+cpu+" nproc"); got != cpu+"\n1" {
			t.Errorf("n%d: affinity and pinned nproc %q, want %s and 1", i, got, cpu)
		}
		other := strconv.Itoa(c.n - i) // another node's CPU
		if out, _, status := herd(t, c.sock(i), "run", "--", "taskset", "-c", other, "true"); status == 0 {
			t.Errorf("n%d: pinning to another node's CPU %s succeeded: %s", i, other, out)
		}
	}
}

// TestClusterViewSums: two nodes that are each given the whole host show
// the sums: twice the host's CPUs and memory.
func TestClusterViewSums(t *testing.T) {
	c := upSplit(t, 2, false)
	host, _ := strconv.Atoi(native(t, "nproc --all"))
	hostMem := memTotalKB(t, native(t, "head -1 /proc/meminfo"))
	got := strings.Split(inside(t, c.sock(2), "nproc --all; grep -c ^processor /proc/cpuinfo; head -1 /proc/meminfo"), "\n")
	if len(got) != 3 || got[0] != strconv.Itoa(2*host) || got[1] != strconv.Itoa(2*host) {
		t.Fatalf("nproc --all and processors %q, want %d (2 nodes of %d)", got, 2*host, host)
	}
	if m := memTotalKB(t, got[2]); m != 2*hostMem {
		t.Errorf("MemTotal %d kB, want %d (2 nodes of %d)", m, 2*hostMem, hostMem)
	}
	// n2's CPUs follow n1's: the cluster's host..2*host-1, what nproc
	// counts and what it may pin to; n1's CPU 0 is refused.
	if _, err := exec.LookPath("taskset"); err == nil {
		first := strconv.Itoa(host)
		if got := inside(t, c.sock(2), "nproc; taskset -c "+first+" nproc"); got != fmt.Sprintf("%d\n1", host) {
			t.Errorf("n2: nproc and nproc pinned to its CPU %s: %q, want %d and 1", first, got, host)
		}
		if out, _, status := herd(t, c.sock(2), "run", "--", "taskset", "-c", "0", "true"); status == 0 {
			t.Errorf("n2: pinning to n1's CPU 0 succeeded: %s", out)
		}
	}
	// sysinfo's memory is the sum.
	pages, _ := strconv.ParseUint(native(t, "getconf _PHYS_PAGES"), 10, 64)
	if got := inside(t, c.sock(1), "getconf _PHYS_PAGES"); got != strconv.FormatUint(2*pages, 10) {
		t.Errorf("sysinfo's pages %s, want %d (2 nodes of %d)", got, 2*pages, pages)
	}
}
