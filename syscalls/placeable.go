package syscalls

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// placedNamespaces are the namespaces a placed exec gets on the other
// node: that node's sandbox's. A process that has made its own (unshare
// or setns, e.g. an exec after unshare(CLONE_NEWNET)) must exec where
// they are, here.
var placedNamespaces = []string{"net", "mnt", "ipc", "uts", "user", "cgroup", "pid_for_children", "time_for_children"}

// sandboxNS are the sandbox's namespaces, read once: herd-init's, and so
// the calling thread's (the tracer is a thread of herd-init; /proc/self
// and /proc/1 name herd-init's hidden entry, its thread's TID does not).
// They do not change while herd-init runs.
var sandboxNS = sync.OnceValues(func() ([]string, error) { return namespacesOf(unix.Gettid()) })

// sandboxNamespaces reports an error naming the first namespace in which
// thread tid differs from the sandbox's: its exec cannot be placed on
// another node. Tracer thread.
func sandboxNamespaces(tid int) error {
	sandbox, err := sandboxNS()
	if err != nil {
		return err
	}
	return differs(tid, sandbox)
}

// namespacesOf are the placedNamespaces of thread tid, as their links read.
func namespacesOf(tid int) ([]string, error) {
	out := make([]string, len(placedNamespaces))
	for i, ns := range placedNamespaces {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", tid, ns))
		if err != nil {
			return nil, err
		}
		out[i] = link
	}
	return out, nil
}

// differs reports an error naming the first of thread tid's namespaces
// that is not ref's (namespacesOf).
func differs(tid int, ref []string) error {
	own, err := namespacesOf(tid)
	if err != nil {
		return err
	}
	for i, ns := range placedNamespaces {
		if own[i] != ref[i] {
			return fmt.Errorf("it has its own %s namespace (%s, the sandbox's is %s)", ns, own[i], ref[i])
		}
	}
	return nil
}
