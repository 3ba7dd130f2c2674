package ipc

import (
	"slices"

	"golang.org/x/sys/unix"
)

// Caller is the process on whose behalf an operation is made: its PID
// (recorded as a queue's last sender or receiver) and the credentials
// Linux checks (ipcperms): effective ids and supplementary groups. Root
// (effective uid 0) stands for CAP_IPC_OWNER, CAP_SYS_ADMIN and
// CAP_SYS_RESOURCE, which herd does not read per process.
type Caller struct {
	PID    int      `json:"pid"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// Node is where the process runs (set by the Service), for the
	// SEM_UNDO of processes that die with their node.
	Node string `json:"node,omitempty"`
}

func (c Caller) privileged() bool { return c.UID == 0 }

func (c Caller) inGroup(g uint32) bool { return c.GID == g || slices.Contains(c.Groups, g) }

// Perm is an object's ipc_perm.
type Perm struct {
	Key  int32  `json:"key"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	CUID uint32 `json:"cuid"`
	CGID uint32 `json:"cgid"`
	Mode uint16 `json:"mode"`
	Seq  uint16 `json:"seq"`
}

// newPerm is the ipc_perm of an object c makes with msgget's flags.
func newPerm(key int32, c Caller, flags int) Perm {
	return Perm{Key: key, UID: c.UID, GID: c.GID, CUID: c.UID, CGID: c.GID, Mode: uint16(flags & 0o777)}
}

// allows is ipcperms: whether c may access p as flag asks (its rwx bits
// for user, group or other, as msgget's flags or S_IRUGO / S_IWUGO).
func (p Perm) allows(c Caller, flag int) bool {
	granted := int(p.Mode)
	switch {
	case c.UID == p.CUID || c.UID == p.UID:
		granted >>= 6
	case c.inGroup(p.CGID) || c.inGroup(p.GID):
		granted >>= 3
	}
	requested := (flag >> 6) | (flag >> 3) | flag
	return requested&^granted&0o7 == 0 || c.privileged()
}

// owns is whether c may IPC_SET or IPC_RMID the object (its creator or
// owner, or CAP_SYS_ADMIN).
func (p Perm) owns(c Caller) bool {
	return c.UID == p.CUID || c.UID == p.UID || c.privileged()
}

// The access modes of ipcperms.
const (
	readAccess  = unix.S_IRUSR | unix.S_IRGRP | unix.S_IROTH
	writeAccess = unix.S_IWUSR | unix.S_IWGRP | unix.S_IWOTH
)
