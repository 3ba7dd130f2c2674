package launch

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Creds is who is at the other end of a launcher socket.
type Creds struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
}

// peerCreds reads the credentials of fd's peer: the effective uid and gid
// it had when it connected (SO_PEERCRED) and its supplementary groups
// (SO_PEERGROUPS). Both come from the kernel's record of the connecting
// process's credentials, taken at connect or socketpair time, so a
// client cannot claim groups it does not have, and they work across PID
// namespaces (SO_PEERCRED's pid is 0 in the node's namespace for a client
// outside it, so /proc/<pid>/status cannot be read there).
func peerCreds(fd int) (Creds, error) {
	uc, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Creds{}, fmt.Errorf("read peer credentials: %w", err)
	}
	groups, err := peerGroups(fd)
	if err != nil {
		return Creds{}, err
	}
	return Creds{UID: uc.Uid, GID: uc.Gid, Groups: groups}, nil
}

// peerGroups reads SO_PEERGROUPS, which x/sys/unix has no helper for,
// growing the buffer when the kernel says it is too small.
func peerGroups(fd int) ([]uint32, error) {
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if e == unix.ERANGE && int(n/4) > len(buf) {
			buf = make([]uint32, n/4)
			continue
		}
		if e != 0 {
			return nil, fmt.Errorf("read peer groups: %w", e)
		}
		return append([]uint32(nil), buf[:n/4]...), nil
	}
}
