package procview

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadCmdline reads the arguments of pid from /proc/<pid>/cmdline. A
// zombie or kernel thread has none: nil, no error.
func (fs FS) ReadCmdline(pid int) ([]string, error) {
	var args []string
	err := fs.read(pid, "cmdline", true, func(b []byte) error {
		b = bytes.TrimSuffix(b, []byte{0})
		if len(b) == 0 {
			return nil
		}
		args = strings.Split(string(b), "\x00")
		return nil
	})
	return args, err
}

// ReadCommand reads the command line of pid as ps shows it: the arguments
// joined by spaces, surrounding space trimmed ("" for none).
func (fs FS) ReadCommand(pid int) (string, error) {
	var cmd string
	err := fs.read(pid, "cmdline", true, func(b []byte) error {
		cmd = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		return nil
	})
	return cmd, err
}

// ReadCmdline reads /proc/<pid>/cmdline of the kernel's procfs.
func ReadCmdline(pid int) ([]string, error) { return Proc.ReadCmdline(pid) }

// ReadCommand is Proc.ReadCommand.
func ReadCommand(pid int) (string, error) { return Proc.ReadCommand(pid) }

// ErrNotPidfd is returned by ReadPidfdTarget for a descriptor that is
// open but is not a pidfd (its fdinfo has no Pid line).
var ErrNotPidfd = errors.New("not a pidfd")

// ReadPidfdTarget reads, from /proc/<tid>/fdinfo/<fd>, the PID the pidfd
// fd of task tid refers to: -1 once the process has been reaped. An fd
// that is not open is an error wrapping ErrGone only if the task is gone;
// otherwise the open error (ENOENT).
func (fs FS) ReadPidfdTarget(tid, fd int) (int, error) {
	pid, found := 0, false
	err := fs.read(tid, "fdinfo/"+strconv.Itoa(fd), false, func(b []byte) error {
		for len(b) > 0 {
			var line []byte
			line, b = nextLine(b)
			if v, ok := bytes.CutPrefix(line, []byte("Pid:")); ok {
				var err error
				pid, err = atoi(trim(v))
				found = err == nil
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, ErrNotPidfd
	}
	return pid, nil
}

// ReadPidfdTarget is Proc.ReadPidfdTarget.
func ReadPidfdTarget(tid, fd int) (int, error) { return Proc.ReadPidfdTarget(tid, fd) }

// ReadLoad reads the 1, 5 and 15 minute load averages.
func (fs FS) ReadLoad() ([3]float64, error) {
	var l [3]float64
	err := fs.read(-1, "loadavg", false, func(b []byte) error {
		f := strings.Fields(string(b))
		if len(f) < 3 {
			return fmt.Errorf("short loadavg %q", b)
		}
		for i := range l {
			if _, err := fmt.Sscanf(f[i], "%g", &l[i]); err != nil {
				return fmt.Errorf("loadavg %q: %w", f[i], err)
			}
		}
		return nil
	})
	return l, err
}

// ReadLoad is Proc.ReadLoad.
func ReadLoad() ([3]float64, error) { return Proc.ReadLoad() }

// MemInfo is what /proc/meminfo says of the node's memory, in bytes.
type MemInfo struct {
	Total, Free, Available uint64
}

// ReadMemInfo reads /proc/meminfo.
func (fs FS) ReadMemInfo() (MemInfo, error) {
	var m MemInfo
	err := fs.read(-1, "meminfo", false, func(b []byte) error {
		found := false
		err := keyValues(b, func(k, v []byte) error {
			var dst *uint64
			switch string(k) {
			case "MemTotal":
				dst = &m.Total
			case "MemFree":
				dst = &m.Free
			case "MemAvailable":
				dst = &m.Available
			default:
				return nil
			}
			var err error
			if *dst, err = kB(v); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			found = found || string(k) == "MemTotal"
			return nil
		})
		if err != nil {
			return err
		}
		if !found {
			return errors.New("no MemTotal")
		}
		return nil
	})
	return m, err
}

// ReadMemInfo is Proc.ReadMemInfo.
func ReadMemInfo() (MemInfo, error) { return Proc.ReadMemInfo() }

// Syscall is what /proc/<tid>/syscall says a task is doing: the number
// and arguments of the system call it is blocked in. Nr is -1 when the
// task is blocked outside a system call and -2 when it is running (the
// file then says "running" and has no arguments).
type Syscall struct {
	Nr   int
	Args [6]uint64
}

// ReadSyscall reads /proc/<tid>/syscall. The kernel fills it only for a
// task that is not running (it needs ptrace-read access, which the
// tracer has).
func (fs FS) ReadSyscall(tid int) (Syscall, error) {
	var sc Syscall
	err := fs.read(tid, "syscall", true, func(b []byte) error { return ParseSyscall(b, &sc) })
	return sc, err
}

// ReadSyscall is Proc.ReadSyscall.
func ReadSyscall(tid int) (Syscall, error) { return Proc.ReadSyscall(tid) }

// ParseSyscall parses the contents of /proc/<tid>/syscall into sc:
// "running", "-1 sp pc", or "nr arg0 … arg5 sp pc" with the arguments in
// hexadecimal.
func ParseSyscall(b []byte, sc *Syscall) error {
	*sc = Syscall{}
	f, i := field(b, 0)
	if string(f) == "running" {
		sc.Nr = -2
		return nil
	}
	nr, err := parseInt(f)
	if err != nil {
		return err
	}
	sc.Nr = int(nr)
	if nr < 0 {
		return nil
	}
	for a := range sc.Args {
		f, i = field(b, i)
		v, err := parseUint(bytes.TrimPrefix(f, []byte("0x")), 16)
		if err != nil {
			return err
		}
		sc.Args[a] = v
	}
	return nil
}

// FdInode is the inode number of the file fd of task tid is open on (the
// magic link /proc/<tid>/fd/<fd>, followed). For a pidfd on Linux 6.9 and
// later (pidfs) it names the process for the life of the system: every
// pidfd of one process, dup'ed, inherited or passed, has the same one.
func (fs FS) FdInode(tid, fd int) (uint64, error) {
	var st unix.Stat_t
	dir, _ := fs.dirfd()
	if err := unix.Fstatat(dir, fs.path(tid, "fd/"+strconv.Itoa(fd)), &st, 0); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// FdInode is Proc.FdInode.
func FdInode(tid, fd int) (uint64, error) { return Proc.FdInode(tid, fd) }
