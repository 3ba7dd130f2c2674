package fdproxy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"herd/procview"
)

// Kind says how an fd crosses to the target node.
type Kind string

// The kinds of fd a placed process can have. The first five are proxied
// (bytes cross on a stream to a dup of the real fd on the origin), the
// last three reopened on the target.
const (
	// PipeRead is the read end of a pipe or FIFO: bytes flow origin → target.
	PipeRead Kind = "pipe-read"
	// PipeWrite is the write end of a pipe or FIFO: bytes flow target → origin.
	PipeWrite Kind = "pipe-write"
	// Socket is a connected stream socket: bytes flow both ways.
	Socket Kind = "socket"
	// TTY is a terminal: bytes flow both ways (the process gets a
	// socketpair end for now, not a pty).
	TTY Kind = "tty"
	// FileWrite is a regular file open for writing without O_APPEND: its
	// offset is shared with the process's kin on the origin, so the writes
	// are made there, through a pipe on the target.
	FileWrite Kind = "file-write"
	// File is a regular file open read-only or with O_APPEND: reopened by
	// path, with its flags and offset.
	File Kind = "file"
	// Dir is a directory: reopened by path, with its flags and offset.
	Dir Kind = "dir"
	// Device is /dev/null, zero, full, random or urandom: reopened.
	Device Kind = "device"
)

// FD describes one fd of a process to the target node. It is plain data
// (JSON), made by Classify on the origin.
type FD struct {
	// Num is the fd number the process has it at.
	Num int `json:"fd"`
	// Kind says how it crosses.
	Kind Kind `json:"kind"`
	// Flags are the open flags kept: the access mode, O_APPEND, O_NONBLOCK.
	Flags int `json:"flags"`
	// Path is the file's path on the origin (for reopened kinds; for the
	// others, what /proc says it is, for messages).
	Path string `json:"path,omitempty"`
	// Offset is the file offset of a reopened file or directory.
	Offset int64 `json:"offset,omitempty"`
}

// Proxied says whether the fd's bytes cross on a stream.
func (d FD) Proxied() bool { return d.inbound() || d.outbound() }

// inbound: bytes flow origin → target (the process reads them).
func (d FD) inbound() bool { return d.Kind == PipeRead || d.Kind == Socket || d.Kind == TTY }

// outbound: bytes flow target → origin (the process writes them).
func (d FD) outbound() bool {
	return d.Kind == PipeWrite || d.Kind == FileWrite || d.Kind == Socket || d.Kind == TTY
}

// keptFlags are the open flags an FD carries.
const keptFlags = unix.O_ACCMODE | unix.O_APPEND | unix.O_NONBLOCK

// UnplaceableError says which fd keeps a process from being placed on
// another node, and why.
type UnplaceableError struct {
	Pid, FD int
	// What is what /proc says the fd is open on.
	What   string
	Reason string
}

func (e *UnplaceableError) Error() string {
	return fmt.Sprintf("process %d cannot be placed: fd %d (%s): %s", e.Pid, e.FD, e.What, e.Reason)
}

// ErrUnplaceable is matched (errors.Is) by every *UnplaceableError.
var ErrUnplaceable = errors.New("fd cannot cross nodes")

// Is makes errors.Is(err, ErrUnplaceable) true.
func (e *UnplaceableError) Is(target error) bool { return target == ErrUnplaceable }

// Classify describes the fds of process pid that an exec keeps (those
// without FD_CLOEXEC), in fd order. It runs on the origin as root in the
// process's namespaces. An fd that cannot cross makes the whole process
// unplaceable: the error is an *UnplaceableError naming the first.
func Classify(pid int) ([]FD, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, fmt.Errorf("fdproxy: list fds of %d: %w", pid, err)
	}
	nums := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	c := classifier{pid: pid, pidfd: -1}
	defer c.close()
	var fds []FD
	for _, n := range nums {
		d, err := c.classify(n, true)
		if errors.Is(err, errCloexec) || errors.Is(err, unix.ENOENT) {
			continue // closed since the listing, or not kept by exec
		}
		if err != nil {
			return nil, err
		}
		fds = append(fds, d)
	}
	return fds, nil
}

// ClassifyFD describes fd num of process pid, whether or not it has
// FD_CLOEXEC.
func ClassifyFD(pid, num int) (FD, error) {
	c := classifier{pid: pid, pidfd: -1}
	defer c.close()
	return c.classify(num, false)
}

var errCloexec = errors.New("close-on-exec")

type classifier struct {
	pid, pidfd int
}

func (c *classifier) close() {
	if c.pidfd >= 0 {
		unix.Close(c.pidfd)
	}
}

// dup takes a copy of the process's fd num (pidfd_getfd; close-on-exec).
func (c *classifier) dup(num int) (int, error) {
	if c.pidfd < 0 {
		fd, err := unix.PidfdOpen(c.pid, 0)
		if err != nil {
			return -1, fmt.Errorf("fdproxy: pidfd_open %d: %w", c.pid, err)
		}
		c.pidfd = fd
	}
	fd, err := unix.PidfdGetfd(c.pidfd, num, 0)
	if err != nil {
		return -1, fmt.Errorf("fdproxy: pidfd_getfd %d/%d: %w", c.pid, num, err)
	}
	return fd, nil
}

func (c *classifier) classify(num int, skipCloexec bool) (FD, error) {
	info, err := procview.ReadFdInfo(c.pid, num)
	if err != nil {
		return FD{}, err
	}
	if skipCloexec && info.Flags&unix.O_CLOEXEC != 0 {
		return FD{}, errCloexec
	}
	link := fmt.Sprintf("/proc/%d/fd/%d", c.pid, num)
	what, err := os.Readlink(link)
	if err != nil {
		return FD{}, fmt.Errorf("fdproxy: %w", err)
	}
	d := FD{Num: num, Flags: info.Flags & keptFlags, Path: what}
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil {
		return FD{}, fmt.Errorf("fdproxy: %w", err)
	}
	reason := c.kind(&d, &st, info)
	if reason != "" {
		return FD{}, &UnplaceableError{Pid: c.pid, FD: num, What: what, Reason: reason}
	}
	return d, nil
}

// kind sets d.Kind (and Path, Offset where they matter), or says why the
// fd cannot cross.
func (c *classifier) kind(d *FD, st *unix.Stat_t, info procview.FdInfo) string {
	acc := d.Flags & unix.O_ACCMODE
	switch {
	case info.Flags&unix.O_PATH != 0:
		return "O_PATH descriptor"
	case strings.HasPrefix(d.Path, "anon_inode:"), strings.HasPrefix(d.Path, "pidfd:"):
		return "kernel object " + strings.TrimPrefix(d.Path, "anon_inode:") + " has no counterpart on another node"
	case strings.HasPrefix(d.Path, "/memfd:"):
		return "memfd: memory of this node"
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		switch acc {
		case unix.O_RDONLY:
			d.Kind = PipeRead
		case unix.O_WRONLY:
			d.Kind = PipeWrite
		default:
			return "FIFO open for reading and writing"
		}
	case unix.S_IFSOCK:
		return c.socket(d)
	case unix.S_IFCHR:
		return charDevice(d, st)
	case unix.S_IFREG:
		return regular(d, info)
	case unix.S_IFDIR:
		d.Kind, d.Offset = Dir, info.Pos
	default:
		return fmt.Sprintf("file type %o not carried", st.Mode&unix.S_IFMT)
	}
	return ""
}

func regular(d *FD, info procview.FdInfo) string {
	acc := d.Flags & unix.O_ACCMODE
	deleted := strings.HasSuffix(d.Path, " (deleted)")
	switch {
	case acc == unix.O_WRONLY && d.Flags&unix.O_APPEND == 0:
		d.Kind = FileWrite // proxied: a deleted file is fine
		return ""
	case acc == unix.O_RDWR && d.Flags&unix.O_APPEND == 0:
		return "regular file open for reading and writing without O_APPEND"
	case deleted:
		return "deleted file cannot be reopened"
	}
	d.Kind, d.Offset = File, info.Pos
	return ""
}

// devices are the character devices reopened on the target, by minor
// number of major 1 (mem).
var devices = map[uint32]string{3: "/dev/null", 5: "/dev/zero", 7: "/dev/full", 8: "/dev/random", 9: "/dev/urandom"}

func charDevice(d *FD, st *unix.Stat_t) string {
	major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	switch {
	case major == 1 && devices[minor] != "":
		d.Kind, d.Path = Device, devices[minor]
	case major == 4, major == 5 && minor == 0, major >= 136 && major <= 143:
		d.Kind = TTY
	default:
		return fmt.Sprintf("character device %d:%d not carried", major, minor)
	}
	return ""
}

// socket accepts a connected stream socket.
func (c *classifier) socket(d *FD) string {
	fd, err := c.dup(d.Num)
	if err != nil {
		return err.Error()
	}
	defer unix.Close(fd)
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return "socket type: " + err.Error()
	}
	if typ != unix.SOCK_STREAM {
		return "not a stream socket: message boundaries are not carried"
	}
	if acc, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); acc != 0 {
		return "listening socket"
	}
	if _, err := unix.Getpeername(fd); err != nil {
		return "socket not connected"
	}
	d.Kind = Socket
	return ""
}
