package launch

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DefaultSocket is where herd run looks for the local node daemon.
const DefaultSocket = "/run/herd/herd.sock"

// Listen makes the launcher socket at path: SOCK_SEQPACKET, mode 0666 so
// that every user can run programs (as themselves). A stale socket whose
// daemon is gone is replaced; a live one is an error.
func Listen(path string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return -1, fmt.Errorf("launcher socket: %w", err)
	}
	if fd, err := Dial(path); err == nil {
		unix.Close(fd)
		return -1, fmt.Errorf("launcher socket %s: another node daemon is serving it", path)
	}
	os.Remove(path)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("launcher socket: %w", err)
	}
	if err := bindListen(fd, path); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("launcher socket %s: %w", path, err)
	}
	return fd, nil
}

func bindListen(fd int, path string) error {
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		return err
	}
	return unix.Listen(fd, 128)
}

// Dial connects to a node daemon's launcher socket.
func Dial(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect to %s: %w", path, err)
	}
	return fd, nil
}

// Pair is a connected pair of launcher sockets, for a launcher and the
// node it starts itself (herd run's embedded node).
func Pair() (client, server int, err error) {
	p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("make control socket: %w", err)
	}
	return p[0], p[1], nil
}
