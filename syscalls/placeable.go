package syscalls

import (
	"fmt"
	"os"
)

// placedNamespaces are the namespaces a placed exec gets on the other
// node: that node's sandbox's. A process that has made its own (unshare
// or setns, e.g. an exec after unshare(CLONE_NEWNET)) must exec where
// they are, here.
var placedNamespaces = []string{"net", "mnt", "ipc", "uts", "user", "cgroup", "pid_for_children", "time_for_children"}

// sandboxNamespaces reports an error naming the first namespace in which
// thread tid differs from the sandbox's (herd-init's, the tracer's own):
// its exec cannot be placed on another node.
func sandboxNamespaces(tid int) error {
	for _, ns := range placedNamespaces {
		own, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", tid, ns))
		if err != nil {
			return err
		}
		sandbox, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			return err
		}
		if own != sandbox {
			return fmt.Errorf("it has its own %s namespace (%s, the sandbox's is %s)", ns, own, sandbox)
		}
	}
	return nil
}
