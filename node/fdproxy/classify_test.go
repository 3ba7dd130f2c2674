package fdproxy

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func mustFd(t *testing.T, fd int, err error) int {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestClassifyFD(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (pidfd_getfd)")
	}
	dir := t.TempDir()
	r, w := pipe(t)
	open := func(name string, flags int) int {
		fd, err := unix.Open(dir+"/"+name, flags|unix.O_CREAT, 0o600)
		return mustFd(t, fd, err)
	}
	ro := open("ro", unix.O_RDONLY)
	unix.Write(open("seed", unix.O_WRONLY), []byte("x"))
	wr := open("wr", unix.O_WRONLY|unix.O_NONBLOCK)
	app := open("app", unix.O_WRONLY|unix.O_APPEND)
	unix.Write(app, []byte("hello"))
	rdwr := open("rdwr", unix.O_RDWR)
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	dfd = mustFd(t, dfd, err)
	null, err := unix.Open("/dev/null", unix.O_RDWR, 0)
	null = mustFd(t, null, err)
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	mustFd(t, sp[1], err)
	sock := mustFd(t, sp[0], err)
	dg, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	mustFd(t, dg[1], err)
	dgram := mustFd(t, dg[0], err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, _ := ln.(*net.TCPListener).File()
	defer lf.Close()
	efd, err := unix.Eventfd(0, 0)
	efd = mustFd(t, efd, err)
	mfd, err := unix.MemfdCreate("m", 0)
	mfd = mustFd(t, mfd, err)
	epfd, err := unix.EpollCreate1(0)
	epfd = mustFd(t, epfd, err)
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	pidfd = mustFd(t, pidfd, err)
	ino, err := unix.InotifyInit1(0)
	ino = mustFd(t, ino, err)

	for _, c := range []struct {
		fd     int
		kind   Kind
		reason string
		check  func(FD) bool
	}{
		{fd: fdOf(r), kind: PipeRead},
		{fd: fdOf(w), kind: PipeWrite},
		{fd: ro, kind: File},
		{fd: wr, kind: FileWrite, check: func(d FD) bool { return d.Flags&unix.O_NONBLOCK != 0 }},
		{fd: app, kind: File, check: func(d FD) bool { return d.Offset == 5 && d.Flags&unix.O_APPEND != 0 }},
		{fd: dfd, kind: Dir, check: func(d FD) bool { return d.Path == dir }},
		{fd: null, kind: Device, check: func(d FD) bool { return d.Path == "/dev/null" && d.Flags&unix.O_ACCMODE == unix.O_RDWR }},
		{fd: sock, kind: Socket},
		{fd: rdwr, reason: "reading and writing"},
		{fd: dgram, reason: "not a stream socket"},
		{fd: int(lf.Fd()), reason: "listening socket"},
		{fd: efd, reason: "eventfd"},
		{fd: mfd, reason: "memfd"},
		{fd: epfd, reason: "eventpoll"},
		{fd: pidfd, reason: "pidfd"},
		{fd: ino, reason: "inotify"},
	} {
		d, err := ClassifyFD(os.Getpid(), c.fd)
		var ue *UnplaceableError
		switch {
		case c.reason != "":
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnplaceable) || !strings.Contains(ue.Error(), c.reason) {
				t.Errorf("fd %d: %+v, %v; want unplaceable: %s", c.fd, d, err, c.reason)
			}
		case err != nil || d.Kind != c.kind || d.Num != c.fd || (c.check != nil && !c.check(d)):
			t.Errorf("fd %d: %+v, %v; want kind %s", c.fd, d, err, c.kind)
		}
	}
}

// TestClassifyProcess classifies a real process: only the fds its exec
// keeps are described, and one fd that cannot cross makes it unplaceable.
func TestClassifyProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (pidfd_getfd)")
	}
	r, w := pipe(t)
	start := func(extra ...*os.File) *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		cmd.Stdin, cmd.ExtraFiles = r, extra
		if err := cmd.Start(); err != nil {
			t.Skipf("no sleep: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	cmd := start(w)
	fds, err := Classify(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[int]Kind{}
	for _, d := range fds {
		kinds[d.Num] = d.Kind
	}
	// (This test's own fds without close-on-exec are inherited too.)
	if kinds[0] != PipeRead || kinds[3] != PipeWrite {
		t.Fatalf("fds of sleep: %+v", fds)
	}
	// An eventfd with close-on-exec is not described; without, it is
	// unplaceable.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	ef := os.NewFile(uintptr(efd), "eventfd") // the one owner: closed once
	defer ef.Close()
	fds, err = Classify(os.Getpid())
	for _, d := range fds {
		if d.Num == efd {
			t.Fatalf("close-on-exec eventfd described: %+v", d)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd = start(w, ef)
	var ue *UnplaceableError
	if _, err := Classify(cmd.Process.Pid); !errors.As(err, &ue) || ue.FD != 4 || ue.Pid != cmd.Process.Pid {
		t.Fatalf("classify with an eventfd: %v", err)
	}
}

func TestStreamName(t *testing.T) {
	id, num, ok := ParseStreamName(StreamName("node-a/4097/2", 7))
	if !ok || id != "node-a/4097/2" || num != 7 {
		t.Fatalf("parsed %q %d %v", id, num, ok)
	}
	for _, bad := range []string{"", "fd/", "fd/x", "fd//1", "fd/x/-1", "pipe/x/1", "fd/x/y"} {
		if _, _, ok := ParseStreamName(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
