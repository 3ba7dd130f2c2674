package syscalls

import (
	"encoding/binary"
	"errors"
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
