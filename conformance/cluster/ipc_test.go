package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// ipcProg builds conformance/c/ipc_msg_block.c, whose modes make, ping,
// ping1 and pong the tests run on chosen nodes.
func ipcProg(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is needed to build the IPC test program")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	prog := filepath.Join(dir, "ipc_msg_block")
	if out, err := exec.Command("gcc", "-O2", "-Wall", "-pthread", "-o", prog, "../c/ipc_msg_block.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return prog
}

type runResult struct {
	out, errOut string
	status      int
}

// runOn runs prog with args placed on node id, in the background.
func (c *testCluster) runOn(id string, prog string, args ...string) <-chan runResult {
	done := make(chan runResult, 1)
	go func() {
		o, e, st := herd(c.t, c.sock(1), append([]string{"run", "--placement", "node:" + id, "--", prog}, args...)...)
		done <- runResult{o, e, st}
	}()
	return done
}

// A message queue made on n2 carries a ping-pong of 200 messages between
// a process on n3 and one on n1 (both reach it at its owner), which then
// removes it.
func TestIPCMsgAcrossNodes(t *testing.T) {
	c := upCluster(t, 3, 3)
	prog := ipcProg(t)
	const key = "0x4b0001"
	if r := <-c.runOn("n2", prog, "make", key); r.status != 0 {
		t.Fatalf("make on n2: %+v", r)
	}
	pong := c.runOn("n3", prog, "pong", key)
	ping := <-c.runOn("n1", prog, "ping", key)
	if ping.status != 0 || ping.out != "pingpong: yes\nrmid: ok\n" {
		t.Fatalf("ping on n1: %+v", ping)
	}
	if r := <-pong; r.status != 0 {
		t.Fatalf("pong on n3: %+v", r)
	}
}

// The node owning a queue dies while a process on another node waits in
// msgrcv there: the wait ends with EIDRM, not a hang, and a new msgget
// with IPC_CREAT makes a new queue under the same key.
func TestIPCMsgOwnerLost(t *testing.T) {
	c := upCluster(t, 3, 3)
	prog := ipcProg(t)
	const key = "0x4b0002"
	if r := <-c.runOn("n3", prog, "make", key); r.status != 0 {
		t.Fatalf("make on n3: %+v", r)
	}
	pong := c.runOn("n2", prog, "pong", key)
	// One round: the pong is past its msgget and goes on to wait.
	if r := <-c.runOn("n1", prog, "ping1", key); r.status != 0 || r.out != "pingpong: yes\n" {
		t.Fatalf("ping1 on n1: %+v", r)
	}
	c.lose("n3")
	select {
	case r := <-pong:
		if r.status != 3 || r.out != "pong_recv: -1 EIDRM (Identifier removed)\n" {
			t.Fatalf("pong on n2 after its queue's owner died: %+v, want EIDRM and status 3", r)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("pong on n2 still waits in msgrcv 45s after its queue's owner died")
	}
	waitFor(t, 20*time.Second, "n3 declared down", func() bool {
		for _, r := range c.nodes(1) {
			if r.ID == "n3" {
				return r.State == "down"
			}
		}
		return false
	})
	pong = c.runOn("n2", prog, "pong", key)
	if r := <-c.runOn("n1", prog, "ping", key); r.status != 0 || r.out != "pingpong: yes\nrmid: ok\n" {
		t.Fatalf("ping on n1 with a queue made again: %+v", r)
	}
	if r := <-pong; r.status != 0 {
		t.Fatalf("second pong on n2: %+v", r)
	}
}
