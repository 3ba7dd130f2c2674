package sentry

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/procview"
	"herd/sentry/shim"
)

// startStandIn runs this test binary as a stand-in (TestMain calls
// RunHelper) with spec, and returns its reply and the process; closing
// conn ends it.
func startStandIn(t *testing.T, spec shim.StandInWire) (shim.StandInReply, *exec.Cmd, *os.File) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the stand-in test needs root (it drops to another user)")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, end := os.NewFile(uintptr(fds[0]), "stand-in"), os.NewFile(uintptr(fds[1]), "launcher")
	defer end.Close()
	cmd := exec.Command(os.Args[0], "-bash", "--login")
	cmd.Args = []string{"-bash", "--login"}
	cmd.Env = []string{shim.StandInEnv + "=1"}
	cmd.ExtraFiles = []*os.File{end}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	data, _ := json.Marshal(spec)
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	var reply shim.StandInReply
	if err := json.NewDecoder(conn).Decode(&reply); err != nil {
		t.Fatalf("no reply from the stand-in: %v", err)
	}
	return reply, cmd, conn
}

// The stand-in becomes the caller, with the caller's name, command line
// and what the caller's own privileges allow of its attributes, and exits
// when herd-init closes its socket.
func TestStandInTakesTheCallersPlace(t *testing.T) {
	attrs := &ProcAttrs{Nice: 7, CPUs: []int{0},
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 99, Max: 100}}}
	reply, cmd, conn := startStandIn(t, shim.StandInWire{Comm: "bash", Dir: "/", UID: 65534, GID: 65534, Groups: []uint32{65534}, Attrs: attrs.wire()})
	if len(reply.Refused) != 0 {
		t.Fatalf("refused %v", reply.Refused)
	}
	pid := cmd.Process.Pid
	st, err := procview.ReadStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "bash" || st.Uid != [4]uint32{65534, 65534, 65534, 65534} {
		t.Errorf("stand-in is %q uid %v, want bash as 65534", st.Name, st.Uid)
	}
	if nice, err := unix.Getpriority(unix.PRIO_PROCESS, pid); err != nil || 20-nice != 7 {
		t.Errorf("stand-in's nice: %d %v, want 7", 20-nice, err)
	}
	if limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); !strings.Contains(string(limits), "Max open files            99                   100") {
		t.Errorf("stand-in's limits, want 99/100 open files:\n%s", limits)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); string(cmdline) != "-bash\x00--login\x00" {
		t.Errorf("stand-in's command line %q", cmdline)
	}
	conn.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("stand-in did not exit cleanly when its launch ended: %v", err)
	}
}

// What the caller could not set itself is refused by the kernel: the
// attributes are applied with the caller's credentials.
func TestStandInGainsNoPrivilege(t *testing.T) {
	attrs := &ProcAttrs{Policy: linux.SCHED_FIFO, Priority: 50, Nice: -5,
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 1 << 20, Max: 1 << 30}}}
	reply, cmd, _ := startStandIn(t, shim.StandInWire{Comm: "sh", UID: 65534, GID: 65534, Attrs: attrs.wire()})
	if got := strings.Join(reply.Refused, "; "); !strings.Contains(got, "sched_setattr") ||
		!strings.Contains(got, "setpriority") || !strings.Contains(got, "rlimit") {
		t.Fatalf("refused only %q, want the policy, the nice value and the limit", got)
	}
	if pol, _, _ := unix.Syscall(unix.SYS_SCHED_GETSCHEDULER, uintptr(cmd.Process.Pid), 0, 0); pol != linux.SCHED_NORMAL {
		t.Errorf("stand-in's policy %d, want SCHED_NORMAL", pol)
	}
	if nice, _ := unix.Getpriority(unix.PRIO_PROCESS, cmd.Process.Pid); 20-nice < 0 {
		t.Errorf("stand-in's nice %d: lowered without privilege", 20-nice)
	}
}

// The stand-in ignores the signals a program or a terminal may send it.
func TestStandInIgnoresSignals(t *testing.T) {
	_, cmd, conn := startStandIn(t, shim.StandInWire{Comm: "sh"})
	for _, sig := range []syscall.Signal{unix.SIGTERM, unix.SIGHUP, unix.SIGINT, unix.SIGUSR1} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("stand-in died of a signal it should ignore: %v", err)
	}
}
