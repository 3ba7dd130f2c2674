package syscalls

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// placedNamespaces are the namespaces a placed exec gets on the other
// node: that node's sandbox's. A process that has made its own (unshare
// or setns, e.g. an exec after unshare(CLONE_NEWNET)) must exec where
// they are, here.
var placedNamespaces = []string{"net", "mnt", "ipc", "uts", "user", "cgroup", "pid_for_children", "time_for_children"}

// sandboxNamespaces reports an error naming the first namespace in which
// thread tid differs from the sandbox's, which are herd-init's and so the
// calling thread's (the tracer is a thread of herd-init; /proc/self and
// /proc/1 name herd-init's hidden entry, its thread's TID does not): its
// exec cannot be placed on another node.
func sandboxNamespaces(tid int) error {
	return sameNamespaces(tid, unix.Gettid())
}

// sameNamespaces is sandboxNamespaces against process ref's namespaces.
func sameNamespaces(tid, ref int) error {
	for _, ns := range placedNamespaces {
		own, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", tid, ns))
		if err != nil {
			return err
		}
		sandbox, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", ref, ns))
		if err != nil {
			return err
		}
		if own != sandbox {
			return fmt.Errorf("it has its own %s namespace (%s, the sandbox's is %s)", ns, own, sandbox)
		}
	}
	return nil
}
