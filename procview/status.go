package procview

import (
	"bytes"
	"fmt"
)

// Status is the parsed /proc/<tid>/status of a task: what ptrace has no
// request for (thread group, credentials, signal masks).
type Status struct {
	Name string // the command name (comm), as the kernel escapes it
	// State is the state letter: R, S, D, T, t, Z, X, I.
	State byte
	Tgid  int
	Pid   int // the task's TID
	PPid  int
	// TracerPid is the TID of the tracer, 0 if none.
	TracerPid int
	// Uid and Gid are the real, effective, saved and filesystem ids.
	Uid, Gid [4]uint32
	// Groups are the supplementary groups. ReadStatusInto reuses the
	// slice it is given.
	Groups  []uint32
	Threads int
	// Signal masks, bit sig-1 for signal sig: pending for the thread and
	// for the thread group, blocked, ignored and caught.
	SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt uint64
	// VmRSS is the resident set in bytes (0 for a zombie or kernel task).
	VmRSS uint64
	// NoNewPrivs is the no_new_privs bit.
	NoNewPrivs bool
	// Umask is the file mode creation mask.
	Umask int
	// CapEff is the effective capability set (bit cap for capability cap);
	// CapInh, CapPrm, CapBnd and CapAmb the inheritable, permitted,
	// bounding and ambient sets.
	CapEff                         uint64
	CapInh, CapPrm, CapBnd, CapAmb uint64
}

// ReadStatus reads /proc/<tid>/status.
func (fs FS) ReadStatus(tid int) (*Status, error) {
	st := new(Status)
	if err := fs.ReadStatusInto(tid, st); err != nil {
		return nil, err
	}
	return st, nil
}

// ReadStatusInto reads /proc/<tid>/status into st, reusing st.Groups. A
// caller that keeps st across reads allocates only the name.
func (fs FS) ReadStatusInto(tid int, st *Status) error {
	return fs.read(tid, "status", true, func(b []byte) error { return ParseStatus(b, st) })
}

// ReadStatus reads /proc/<tid>/status of the kernel's procfs.
func ReadStatus(tid int) (*Status, error) { return Proc.ReadStatus(tid) }

// ParseStatus parses the contents of a status file into st. Lines it does
// not know are skipped; a known field that does not parse is an error.
func ParseStatus(b []byte, st *Status) error {
	groups := st.Groups[:0]
	*st = Status{}
	st.Groups = groups
	seen := false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		if err := st.set(k, trim(v)); err != nil {
			return fmt.Errorf("status %s: %w", k, err)
		}
		seen = seen || string(k) == "Pid"
	}
	if !seen {
		return fmt.Errorf("status: no Pid line")
	}
	return nil
}

// mask is the field of a hexadecimal set (signals, capabilities) named k.
func (st *Status) mask(k string) *uint64 {
	switch k {
	case "SigPnd":
		return &st.SigPnd
	case "ShdPnd":
		return &st.ShdPnd
	case "SigBlk":
		return &st.SigBlk
	case "SigIgn":
		return &st.SigIgn
	case "SigCgt":
		return &st.SigCgt
	case "CapInh":
		return &st.CapInh
	case "CapPrm":
		return &st.CapPrm
	case "CapEff":
		return &st.CapEff
	case "CapBnd":
		return &st.CapBnd
	}
	return &st.CapAmb
}

// set parses one field.
func (st *Status) set(k, v []byte) (err error) {
	switch string(k) {
	case "Name":
		st.Name = string(v)
	case "State":
		if len(v) == 0 {
			return fmt.Errorf("empty")
		}
		st.State = v[0]
	case "Tgid":
		st.Tgid, err = atoi(v)
	case "Pid":
		st.Pid, err = atoi(v)
	case "PPid":
		st.PPid, err = atoi(v)
	case "TracerPid":
		st.TracerPid, err = atoi(v)
	case "Threads":
		st.Threads, err = atoi(v)
	case "Uid":
		err = ids(v, &st.Uid)
	case "Gid":
		err = ids(v, &st.Gid)
	case "Groups":
		st.Groups, err = groups(v, st.Groups)
	case "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
		*st.mask(string(k)), err = parseUint(v, 16)
	case "VmRSS":
		st.VmRSS, err = kB(v)
	case "NoNewPrivs":
		st.NoNewPrivs = string(v) == "1"
	case "Umask":
		var u uint64
		u, err = parseUint(v, 8)
		st.Umask = int(u)
	}
	return err
}

func atoi(b []byte) (int, error) {
	v, err := parseInt(b)
	return int(v), err
}

// ids parses "real effective saved fs".
func ids(b []byte, out *[4]uint32) error {
	i := 0
	for n := range out {
		var f []byte
		f, i = field(b, i)
		v, err := parseUint(f, 10)
		if err != nil || v > 1<<32-1 {
			return fmt.Errorf("bad id list %q", b)
		}
		out[n] = uint32(v)
	}
	return nil
}

// groups parses a space-separated list of group ids, appending to dst.
func groups(b []byte, dst []uint32) ([]uint32, error) {
	for i := 0; ; {
		var f []byte
		if f, i = field(b, i); len(f) == 0 {
			return dst, nil
		}
		v, err := parseUint(f, 10)
		if err != nil || v > 1<<32-1 {
			return dst, fmt.Errorf("bad group list %q", b)
		}
		dst = append(dst, uint32(v))
	}
}

// kB parses "1234 kB" as bytes.
func kB(b []byte) (uint64, error) {
	f, _ := field(b, 0)
	v, err := parseUint(f, 10)
	return v << 10, err
}

// Ignored reports whether sig is ignored (SIG_IGN).
func (st *Status) Ignored(sig int) bool { return st.SigIgn&sigBit(sig) != 0 }

// Caught reports whether sig has a handler.
func (st *Status) Caught(sig int) bool { return st.SigCgt&sigBit(sig) != 0 }

// Default reports whether sig is at SIG_DFL: neither ignored nor caught.
func (st *Status) Default(sig int) bool { return !st.Ignored(sig) && !st.Caught(sig) }

// Blocked reports whether the task blocks sig.
func (st *Status) Blocked(sig int) bool { return st.SigBlk&sigBit(sig) != 0 }

func sigBit(sig int) uint64 {
	if sig < 1 || sig > 64 {
		return 0
	}
	return 1 << (sig - 1)
}

// Signals lists the signals set in mask, lowest first.
func Signals(mask uint64) []int {
	var out []int
	for sig := 1; sig <= 64; sig++ {
		if mask&sigBit(sig) != 0 {
			out = append(out, sig)
		}
	}
	return out
}
