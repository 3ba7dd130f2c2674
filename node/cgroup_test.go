package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestFormatCPUList(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "0-3,6": "0-3,6", "6,2,1,0": "0-2,6", "1,3,5": "1,3,5"} {
		l, err := parseCPUList(in)
		if err != nil || formatCPUList(l) != want {
			t.Errorf("formatCPUList(%q) = %q (%v), want %q", in, formatCPUList(l), err, want)
		}
	}
}

func TestCgroupKey(t *testing.T) {
	a, b := CgroupKey("/tmp/x/n1"), CgroupKey("/tmp/y/n1")
	if a == b || !strings.HasPrefix(a, "n1-") || strings.ContainsAny(a, "/.") {
		t.Errorf("CgroupKey: %q and %q", a, b)
	}
}

// inCgroup runs sh -c script in cg: the child waits on stdin until it
// has been moved in.
func inCgroup(t *testing.T, cg *Cgroup, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "read go; "+script)
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, d := range cg.Dirs() {
		if err := writeCgroup(d, "cgroup.procs", strconv.Itoa(cmd.Process.Pid)); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal(err)
		}
	}
	w.Write([]byte("go\n"))
	w.Close()
	err = cmd.Wait()
	return out.String(), err
}

// TestCgroupConfines: a process in a node's cgroup sees only the node's
// CPU and is killed when it uses more than the node's memory; the cgroup
// is gone after Remove, and one left behind is replaced.
func TestCgroupConfines(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	key := CgroupKey(t.TempDir())
	left, err := NewCgroup(key, Limits{CPUs: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	// A cgroup left by a crash is removed by the next NewCgroup.
	cg, err := NewCgroup(key, Limits{CPUs: []int{0}, Memory: 64 << 20})
	if err != nil {
		left.Remove()
		t.Fatal(err)
	}
	defer cg.Remove()
	out, err := inCgroup(t, cg, "nproc")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("nproc in a cgroup of CPU 0: %q %v, want 1", out, err)
	}
	out, err = inCgroup(t, cg, "exec dd if=/dev/zero of=/dev/null bs=256M count=1")
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("dd of 256 MiB in a cgroup of 64 MiB: %v (%s), want killed by the OOM killer", err, out)
	}
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, d := range cg.Dirs() {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left after Remove", d)
		}
		if _, err := os.Stat(filepath.Dir(d)); err == nil {
			t.Logf("%s stays (another node uses it?)", filepath.Dir(d))
		}
	}
}
