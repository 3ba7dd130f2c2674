package cluster

import (
	"os"
	"strings"
	"testing"
)

// sysvKeys are the keys listed in a /proc/sysvipc file (the first
// column, after the header), as read by a process of the host or, through
// herd run, of a node.
func sysvKeys(table string) map[string]bool {
	keys := map[string]bool{}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			keys[f[0]] = true
		}
	}
	return keys
}

// Each node's sandbox has its own IPC namespace: a shared memory segment
// made on n1 is listed on n1, and neither by the host nor on n2 (local
// nodes of one host would otherwise share kernel objects, and a
// cross-node test pass for the wrong reason).
func TestIPCNamespacePerNode(t *testing.T) {
	c := upCluster(t, 2, 1)
	o, e, st := herd(t, c.sock(1), "run", "--", "/bin/sh", "-c",
		"ipcmk -M 4096 >/dev/null && cat /proc/sysvipc/shm")
	if st != 0 {
		t.Fatalf("ipcmk on n1: status %d, stderr %q", st, e)
	}
	made := sysvKeys(o)
	if len(made) != 1 {
		t.Fatalf("n1 lists %d segments after ipcmk, want 1:\n%s", len(made), o)
	}
	host, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	o2, e2, st2 := herd(t, c.sock(2), "run", "--", "/bin/cat", "/proc/sysvipc/shm")
	if st2 != 0 {
		t.Fatalf("cat on n2: status %d, stderr %q", st2, e2)
	}
	for k := range made {
		if sysvKeys(string(host))[k] {
			t.Errorf("segment %s made on n1 is visible to the host", k)
		}
		if sysvKeys(o2)[k] {
			t.Errorf("segment %s made on n1 is visible on n2", k)
		}
	}
}
