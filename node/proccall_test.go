package node

import (
	"context"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/raftstate"
	"herd/syscalls"
)

// A process call reaches the node asked over RPC and is made there; a
// node that holds the PID's record no longer (the process went on)
// hands it on to where it went. The target is this test's own process,
// the one real task the test has: its record is on n2, which moved it to
// n3.
func TestProcCallAcrossNodes(t *testing.T) {
	self := os.Getpid()
	if self <= pidspace.FirstPID {
		t.Skipf("this process's PID %d is below herd's first PID", self)
	}
	c := newTestCluster(t, "n1", "n2", "n3")
	n1, n2 := c.hosts["n1"], c.hosts["n2"]
	launcher := 5120 // the test's parent, a virtual record: any PID but self's
	if launcher == self {
		launcher++
	}
	n2.spawn(t, launcher, self, rootCreds)
	if _, err := n2.space.Export(self, "n3"); err != nil {
		t.Fatal(err)
	}
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, self)
	if err != nil {
		t.Fatal(err)
	}
	procs := remoteProcs{net: n1.net}
	call := syscalls.ProcCall{Nr: unix.SYS_GETPRIORITY, PID: self, Args: [6]uint64{unix.PRIO_PROCESS, uint64(self)}, Creds: userCreds}
	res, err := procs.ProcCall(context.Background(), "n2", call)
	if err != nil || res.Ret != int64(raw) {
		t.Fatalf("getpriority through n2 and n3: %+v, %v; want %d", res, err, raw)
	}
	// setpriority of root's process by a user: n3 refuses, as Linux.
	call.Nr, call.Args[2] = unix.SYS_SETPRIORITY, uint64(20-raw)
	if _, err := procs.ProcCall(context.Background(), "n3", call); !errors.Is(err, unix.EPERM) {
		t.Errorf("a user's setpriority of root's process: %v, want EPERM", err)
	}
	c.setMember("n3", deadAddr(t), raftstate.StateDown)
	if _, err := procs.ProcCall(context.Background(), "n3", call); !errors.Is(err, unix.ESRCH) {
		t.Errorf("a call to a node that is down: %v, want ESRCH", err)
	}
}
