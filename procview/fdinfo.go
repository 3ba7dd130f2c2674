package procview

import (
	"bytes"
	"strconv"
)

// FdInfo is what /proc/<pid>/fdinfo/<fd> says of an open file.
type FdInfo struct {
	// Pos is the file offset of the open file description.
	Pos int64
	// Flags are the description's open flags (access mode, O_APPEND,
	// O_NONBLOCK, ...) with O_CLOEXEC if the fd has FD_CLOEXEC.
	Flags int
	// MntID is the mount the file is on.
	MntID int
}

// ReadFdInfo reads the position, flags and mount of fd of process pid. An
// fd that is not open fails with the open error (ENOENT), one of a process
// that is gone with ErrGone.
func (fs FS) ReadFdInfo(pid, fd int) (FdInfo, error) {
	var fi FdInfo
	err := fs.read(pid, "fdinfo/"+strconv.Itoa(fd), false, func(b []byte) error {
		for len(b) > 0 {
			var line []byte
			line, b = nextLine(b)
			k, v, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				continue
			}
			var err error
			switch string(k) {
			case "pos":
				fi.Pos, err = parseInt(trim(v))
			case "flags":
				var u uint64
				u, err = parseUint(trim(v), 8)
				fi.Flags = int(u)
			case "mnt_id":
				fi.MntID, err = atoi(trim(v))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if _, serr := fs.ReadCommand(pid); serr != nil {
			return fi, serr
		}
	}
	return fi, err
}

// ReadFdInfo is Proc.ReadFdInfo.
func ReadFdInfo(pid, fd int) (FdInfo, error) { return Proc.ReadFdInfo(pid, fd) }
