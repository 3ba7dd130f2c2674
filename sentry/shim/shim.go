package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Spec is what the sentry tells the shim, over its spec socket, once the
// shim has written a byte there and the sentry has seized it.
type Spec struct {
	Path    string
	Argv    []string
	Env     []string
	Dir     string
	UID     uint32
	GID     uint32
	Groups  []uint32
	Filter  []byte // encoded sock_filter array
	Ignored []int  // signals the caller had ignored, inherited across exec
	// Attrs are the caller's scheduling attributes and limits, which
	// the program inherits as from its parent; applied as the caller.
	Attrs *Attrs `json:",omitempty"`
	// Placed, if set, makes the shim reproduce a process another node
	// handed over: UID, GID and Attrs' privilege are then unused.
	Placed *Placed `json:",omitempty"`
	// Notify, if set, is installed instead of Filter, with a listener
	// the shim sends back on the spec socket (the sentry's notify.go).
	Notify []byte `json:",omitempty"`
}

// Placed is the state of a placed process that a launch does not have:
// all three ids, the umask and the blocked signals.
type Placed struct {
	UIDs, GIDs [3]uint32
	Umask      int
	SigMask    uint64
	// Caps are the process's capability sets before its exec, which
	// the exec's own sets are computed from; nil leaves the shim's.
	Caps *Caps `json:",omitempty"`
}

// Caps are a process's capability sets (bit cap for capability cap).
type Caps struct {
	Inh, Prm, Eff, Bnd, Amb uint64
}

func shimMain() {
	Trace("shim: main")
	// The spec socket is fd 3, or the number in argv[1] for a placed
	// process, whose own descriptors take the low numbers.
	fd := 3
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil {
			fd = n
		}
	}
	// Whatever else herd-init held without close-on-exec (a library's
	// descriptor, such as FUSE's /dev/fuse) is not the program's.
	unix.CloseRange(uint(fd+1), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	sock := os.NewFile(uintptr(fd), "spec")
	spec := readSpec(sock)
	Trace("shim: spec read")
	if spec.Placed != nil {
		sock.Close()
		placedMain(&spec)
	}
	if err := installSpecFilter(&spec, sock); err != nil {
		fmt.Fprintf(os.Stderr, "herd: install syscall filter: %v\n", err)
		os.Exit(126)
	}
	if err := dropCreds(spec.UID, spec.GID, spec.Groups); err != nil {
		fmt.Fprintf(os.Stderr, "herd: set credentials: %v\n", err)
		os.Exit(126)
	}
	// What the kernel refuses the caller stays herd-init's; the
	// launcher's stand-in, which applies the same, has said so.
	spec.Attrs.Apply()
	if spec.Dir != "" {
		if err := unix.Chdir(spec.Dir); err != nil {
			fmt.Fprintf(os.Stderr, "herd: cd %s: %v\n", spec.Dir, err)
			os.Exit(126)
		}
	}
	for _, sig := range spec.Ignored {
		ignoreSignal(sig)
	}
	Trace("shim: exec")
	err := syscall.Exec(spec.Path, spec.Argv, spec.Env)
	// Exec failed: say so as a shell would, with a shell's status.
	status := 126
	if err == syscall.ENOENT {
		status = 127
	}
	fmt.Fprintf(os.Stderr, "herd: %s: %v\n", spec.Argv[0], err)
	os.Exit(status)
}

// readSpec says the shim runs (its exec is over: only now does the
// sentry seize it) and reads its spec; f stays open for the listener.
func readSpec(f *os.File) Spec {
	if _, err := f.Write([]byte{0}); err != nil {
		os.Exit(126)
	}
	data, err := io.ReadAll(f)
	var spec Spec
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "herd: read launch spec: %v\n", err)
		os.Exit(126)
	}
	return spec
}

// placedMain execs a placed process's program with its state. It prints
// nothing: a failure is the node's to handle (the exec then happens on
// the node the process came from), and the shim's exit status is the
// errno of the call that failed.
func placedMain(spec *Spec) {
	fail := func(err error) {
		var e syscall.Errno
		if !errors.As(err, &e) || e == 0 || e > 255 {
			e = syscall.EIO
		}
		os.Exit(int(e))
	}
	if err := installFilter(spec.Filter); err != nil {
		fail(syscall.EINVAL)
	}
	// The attributes are the process's own: set them while still
	// privileged, as its limits may be above what its user could set.
	spec.Attrs.Apply()
	pl := spec.Placed
	if err := keepCaps(pl.Caps); err != nil {
		fail(err)
	}
	if err := setCreds(pl.UIDs, pl.GIDs, spec.Groups); err != nil {
		fail(err)
	}
	if err := setCaps(pl.Caps); err != nil {
		fail(err)
	}
	unix.Umask(pl.Umask)
	if spec.Dir != "" {
		if err := unix.Chdir(spec.Dir); err != nil {
			fail(err)
		}
	}
	for _, sig := range spec.Ignored {
		ignoreSignal(sig)
	}
	mask := pl.SigMask
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&mask)), 0, 8, 0, 0); e != 0 {
		fail(e)
	}
	Trace("shim: exec")
	fail(syscall.Exec(spec.Path, spec.Argv, spec.Env))
}

// installSpecFilter installs spec's filter; with notification, it sends
// the listener back on sock before any notified call can be made.
func installSpecFilter(spec *Spec, sock *os.File) error {
	defer sock.Close()
	if spec.Notify == nil {
		return installFilter(spec.Filter)
	}
	listener, err := installFilterFlags(spec.Notify, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if err != nil {
		return err
	}
	defer unix.Close(listener)
	return unix.Sendmsg(int(sock.Fd()), []byte{0}, unix.UnixRights(listener), nil, 0)
}

// installFilter loads the filter on this thread only, without
// PR_SET_NO_NEW_PRIVS (the shim is still root), so set-uid programs keep
// working under herd.
func installFilter(code []byte) error {
	_, err := installFilterFlags(code, 0)
	return err
}

// installFilterFlags is installFilter with SECCOMP_FILTER_FLAG_* flags;
// it returns the listener of SECCOMP_FILTER_FLAG_NEW_LISTENER.
func installFilterFlags(code []byte, flags uintptr) (int, error) {
	if len(code) == 0 || len(code)%8 != 0 {
		return -1, fmt.Errorf("bad filter of %d bytes", len(code))
	}
	prog := struct {
		Len    uint16
		_      [6]byte
		Filter unsafe.Pointer
	}{Len: uint16(len(code) / 8), Filter: unsafe.Pointer(&code[0])}
	fd, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// dropCreds changes this thread's credentials only: the other Go threads
// of the shim die at exec, and the Go wrappers would signal them.
func dropCreds(uid, gid uint32, groups []uint32) error {
	return setCreds([3]uint32{uid, uid, uid}, [3]uint32{gid, gid, gid}, groups)
}

// setCreds sets this thread's groups and real, effective and saved ids.
func setCreds(uids, gids [3]uint32, groups []uint32) error {
	var gp unsafe.Pointer
	if len(groups) > 0 {
		gp = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(gp), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gids[0]), uintptr(gids[1]), uintptr(gids[2])); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uids[0]), uintptr(uids[1]), uintptr(uids[2])); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	return nil
}

func ignoreSignal(sig int) {
	// struct kernel_sigaction { handler, flags, restorer, mask }
	act := [4]uint64{linux.SIG_IGN, 0, 0, 0}
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

func bellMain() {
	f := os.NewFile(3, "bell")
	buf := make([]byte, 512)
	for {
		if _, err := f.Read(buf); err != nil {
			os.Exit(0)
		}
		unix.Kill(os.Getpid(), unix.SIGSTOP)
	}
}

// keepCaps prepares this thread, still root, for setCaps: the bounding
// set loses what c's lacks, and the permitted set survives the change
// of ids (PR_SET_KEEPCAPS, which the exec clears).
func keepCaps(c *Caps) error {
	if c == nil {
		return nil
	}
	for cp := 0; cp < 64; cp++ {
		if c.Bnd&(1<<cp) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(cp), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", cp, err)
		}
	}
	return unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0)
}

// setCaps gives this thread, its ids set, the capability sets c, and
// raises c's ambient ones, so that the exec computes the process's sets
// as it would have where it came from.
func setCaps(c *Caps) error {
	if c == nil {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		data[i] = unix.CapUserData{
			Effective:   uint32(c.Eff >> (32 * i)),
			Permitted:   uint32(c.Prm >> (32 * i)),
			Inheritable: uint32(c.Inh >> (32 * i)),
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	for cp := 0; cp < 64; cp++ {
		if c.Amb&(1<<cp) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(cp), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d: %w", cp, err)
		}
	}
	return nil
}
