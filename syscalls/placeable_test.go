package syscalls

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// A process in the sandbox's namespaces may be placed; one with a
// network namespace of its own may not, and the reason names it.
func TestSandboxNamespaces(t *testing.T) {
	self, err := namespacesOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := sandboxNamespaces(os.Getpid()); err != nil {
		t.Fatalf("this process, in the namespaces of the thread asking: %v, want placeable", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("a new network namespace needs root")
	}
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	err = differs(cmd.Process.Pid, self)
	if err == nil || !strings.Contains(err.Error(), "own net namespace") {
		t.Errorf("process in its own network namespace: %v, want its net namespace named", err)
	}
}
