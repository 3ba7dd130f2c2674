package procview

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FS is a mounted procfs, by its mount point. Proc is the usual one; tests
// and the cluster view may read another.
type FS string

// Proc is the kernel's procfs at /proc.
const Proc FS = "/proc"

// fdPrefix marks an FS reached through a directory descriptor (At).
const fdPrefix = "\x00fd:"

// At is the procfs whose root directory is open at fd: a mount that is
// in no namespace's tree (open_tree's detached copy), which no path
// names. The fd must stay open while the FS is used.
func At(fd int) FS { return FS(fdPrefix + strconv.Itoa(fd)) }

// dirfd is the directory paths of fs are relative to, and the prefix of
// its paths: AT_FDCWD and the mount point, or At's fd and "".
func (fs FS) dirfd() (int, string) {
	if rest, ok := strings.CutPrefix(string(fs), fdPrefix); ok {
		if fd, err := strconv.Atoi(rest); err == nil {
			return fd, ""
		}
	}
	return unix.AT_FDCWD, string(fs)
}

// ErrGone is wrapped by every error of a read of a process that no longer
// exists. It is unix.ESRCH, so a handler can return it as the errno.
var ErrGone error = unix.ESRCH

// maxFile bounds what one read takes from a /proc file: status is under
// 2 KiB and stat under 1 KiB; cmdline may be longer (up to the argument
// limit), and is cut at this size as ps cuts it.
const maxFile = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// appendPath appends root/pid/name (root/name for pid < 0) to b.
func (fs FS) appendPath(b []byte, pid int, name string) []byte {
	if _, root := fs.dirfd(); root != "" {
		b = append(b, root...)
		b = append(b, '/')
	}
	if pid >= 0 {
		b = strconv.AppendInt(b, int64(pid), 10)
		b = append(b, '/')
	}
	return append(b, name...)
}

// path is root/pid/name, for errors.
func (fs FS) path(pid int, name string) string { return string(fs.appendPath(nil, pid, name)) }

// read reads the whole file root/pid/name (up to maxFile bytes) into a
// pooled buffer and calls parse on its contents, which parse must not
// keep. If ofProcess, a missing file means the process is gone (ErrGone).
// On the way to a parse it allocates nothing: the path is built on the
// stack and opened with a raw openat.
func (fs FS) read(pid int, name string, ofProcess bool, parse func([]byte) error) error {
	var pb [128]byte
	dir, _ := fs.dirfd()
	fd, err := openRead(dir, append(fs.appendPath(pb[:0], pid, name), 0))
	if err != nil {
		return fs.fileErr(pid, name, ofProcess, err)
	}
	defer unix.Close(fd)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:0]
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxFile {
				break
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fs.fileErr(pid, name, ofProcess, err)
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	*bp = buf[:0]
	if err := parse(buf); err != nil {
		return fmt.Errorf("procview: %s: %w", fs.path(pid, name), err)
	}
	return nil
}

// openRead opens the NUL-terminated path (relative to dir) for reading.
func openRead(dir int, path []byte) (int, error) {
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dir), uintptr(unsafe.Pointer(&path[0])),
			uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case unix.EINTR:
			continue
		}
		return -1, errno
	}
}

// fileErr makes ENOENT and ESRCH of a process file the clear ErrGone.
func (fs FS) fileErr(pid int, name string, ofProcess bool, err error) error {
	if ofProcess && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)) {
		return fmt.Errorf("procview: process %d is gone: %w", pid, ErrGone)
	}
	return fmt.Errorf("procview: %s: %w", fs.path(pid, name), err)
}

// field returns the next space-separated field of b from i, and the
// index after it.
func field(b []byte, i int) ([]byte, int) {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' {
		j++
	}
	return b[i:j], j
}

// trim strips spaces and tabs around b.
func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseUint parses a decimal (base 10) or hexadecimal (base 16) number
// without allocating.
func parseUint(b []byte, base uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, fmt.Errorf("bad number %q", b)
	}
	var v uint64
	for _, c := range b {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, fmt.Errorf("bad number %q", b)
		}
		if d >= base || v > (^uint64(0)-d)/base {
			return 0, fmt.Errorf("bad number %q", b)
		}
		v = v*base + d
	}
	return v, nil
}

// parseInt parses a signed decimal.
func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	v, err := parseUint(b, 10)
	if err != nil || v > 1<<63-1 {
		return 0, fmt.Errorf("bad number %q", b)
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// nextLine splits b at its first newline.
func nextLine(b []byte) (line, rest []byte) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// keyValues calls f for each "key: value" line of b, with the value
// trimmed; lines without a colon are skipped.
func keyValues(b []byte, f func(k, v []byte) error) error {
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if k, v, ok := bytes.Cut(line, []byte{':'}); ok {
			if err := f(k, trim(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadFile reads the file name of the procfs (like "self/cgroup"), whole.
func (fs FS) ReadFile(name string) ([]byte, error) {
	var out []byte
	err := fs.read(-1, name, false, func(b []byte) error {
		out = append([]byte(nil), b...)
		return nil
	})
	return out, err
}
