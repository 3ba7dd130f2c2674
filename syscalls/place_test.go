package syscalls

import (
	"encoding/binary"
	"errors"
	"herd/pidspace"
	"herd/sentry"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// putStrings lays out strs as execve's argv in the fake task's memory:
// a NULL-terminated array of pointers at memBase, the strings after it.
func putStrings(t *fakeTask, strs []string) uintptr {
	arr := uintptr(memBase)
	at := arr + uintptr(8*(len(strs)+1))
	for i, s := range strs {
		binary.NativeEndian.PutUint64(t.mem[arr-memBase+uintptr(8*i):], uint64(at))
		copy(t.mem[at-memBase:], s+"\x00")
		at += uintptr(len(s) + 1)
	}
	return arr
}

// execve's argv and envp are read as the kernel reads them: a NULL
// array is empty, a bad pointer is EFAULT.
func TestReadStrings(t *testing.T) {
	task := newTask(4097, unix.SYS_EXECVE)
	want := []string{"/bin/sh", "-c", "echo hi", ""}
	got, err := readStrings(task, putStrings(task, want))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("readStrings = %q, %v; want %q", got, err, want)
	}
	if got, err := readStrings(task, 0); err != nil || len(got) != 0 {
		t.Fatalf("NULL array = %q, %v; want empty", got, err)
	}
	binary.NativeEndian.PutUint64(task.mem[0:], 0xdead0000)
	if _, err := readStrings(task, memBase); !errors.Is(err, unix.EFAULT) {
		t.Fatalf("bad string pointer: %v, want EFAULT", err)
	}
}

// An exec's path is resolved where the caller stands before it travels;
// what names this node's own process state, or is no executable file,
// keeps the exec here.
func TestResolveExecPath(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	for _, c := range []struct {
		path, want string
		ok         bool
	}{
		{"prog", prog, true},
		{"./sub/../prog", prog, true},
		{prog, prog, true},
		{"/proc/self/exe", self, true},
		{"/proc/self/fd/3", "", false},
		{"/dev/fd/3", "", false},
		{"data", "", false},    // not executable
		{"nothere", "", false}, // the local exec gives ENOENT
		{".", "", false},       // a directory
	} {
		got, err := resolveExecPath(os.Getpid(), dir, c.path)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("resolveExecPath(%q) = %q, %v; want %q (ok %v)", c.path, got, err, c.want, c.ok)
		}
	}
}

// goneHere is a Signaller whose node has no process left for the PIDs
// in gone (they departed at their exec): ESRCH for those, as the
// sentry says, and a record of every delivery.
type goneHere struct {
	fakeSignals
	node string
	gone map[int]bool
}

func (g *goneHere) Signal(target pidspace.Target, sig int, info *sentry.SigInfo) error {
	if target.Node == g.node && g.gone[target.PID] {
		return unix.ESRCH
	}
	return g.fakeSignals.Signal(target, sig, info)
}

// A signal decided for a process here but delivered after it left at
// its exec goes to the node it went to.
func TestSignalFollowsPlacedProcess(t *testing.T) {
	r := newRig(t)
	r.spawn(4097, 1000)
	if _, err := r.space.Export(4097, "n2"); err != nil {
		t.Fatal(err)
	}
	sig := &goneHere{node: "n1", gone: map[int]bool{4097: true}}
	r.k.SetSignaller(sig)
	r.k.signalAs(pidspace.Target{PID: 4097, Node: "n1", Home: "n1"}, int(unix.SIGUSR1), siUser, 1, 0)
	if len(sig.sent) != 1 || sig.sent[0].target.Node != "n2" || sig.sent[0].sig != int(unix.SIGUSR1) {
		t.Fatalf("sent %+v, want SIGUSR1 to 4097 on n2", sig.sent)
	}
}
