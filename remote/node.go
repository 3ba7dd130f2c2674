package remote

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"herd/pidspace"
)

// The node daemon's RPCs. Payloads are JSON (see frame.go).
const (
	// MsgForward carries a write to the Raft leader: the payload is a
	// raftstate.ForwardRequest, the response a raftstate.ForwardResponse.
	// (remote does not import raftstate; the daemon registers the handler.)
	MsgForward MsgType = 16
	// MsgProcs asks a node for the processes whose PIDs it homes:
	// empty → ProcsResponse.
	MsgProcs MsgType = 17
	// MsgStatus asks a node for its load: empty → NodeStatus.
	MsgStatus MsgType = 18
)

func init() {
	RegisterMsgName(MsgForward, "forward")
	RegisterMsgName(MsgProcs, "procs")
	RegisterMsgName(MsgStatus, "status")
}

// ProcInfo is one process as `herd ps` shows it.
type ProcInfo struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	PGID int    `json:"pgid"`
	SID  int    `json:"sid"`
	UID  uint32 `json:"uid"`
	Node string `json:"node"`
	// Stat is ps's STAT: the state letter (R, S, D, T, Z …), then "s" for
	// a session leader.
	Stat string `json:"stat"`
	// CPU is user plus system time.
	CPU time.Duration `json:"cpu_ns"`
	Cmd string        `json:"cmd"`
	// Launcher marks the record of a herd run launcher, which stands for
	// the user's shell and has no task of its own.
	Launcher bool `json:"launcher,omitempty"`
}

// ProcsResponse answers MsgProcs.
type ProcsResponse struct {
	Node  string     `json:"node"`
	Procs []ProcInfo `json:"procs"`
}

// NodeStatus answers MsgStatus: what a node's load is now. It is not
// replicated; `herd nodes` asks every node when it runs.
type NodeStatus struct {
	Node  string     `json:"node"`
	Load  [3]float64 `json:"load"`
	Procs int        `json:"procs"`
}

// ProcTable renders a node's process records for ps. Live processes are
// read from procfs (the node's /proc, where cluster PIDs are the kernel's)
// for their scheduler state, CPU time and command line; what procfs does
// not show comes from the record. herd-init (PID 1) is the node's own
// machinery and every node has one, so it is left out.
func ProcTable(node string, procs []pidspace.Process, procfs string) []ProcInfo {
	out := make([]ProcInfo, 0, len(procs))
	for _, p := range procs {
		if p.PID == pidspace.InitPID {
			continue
		}
		pi := ProcInfo{
			PID: p.PID, PPID: p.PPID, PGID: p.PGID, SID: p.SID, UID: p.Creds.RUID,
			Node: p.Node, Stat: p.State.String(), CPU: p.Usage.Utime + p.Usage.Stime,
			Cmd: p.Args, Launcher: p.Virtual,
		}
		if pi.Node == "" {
			pi.Node = node
		}
		if pi.Cmd == "" {
			pi.Cmd = p.Comm
		}
		if p.Virtual && p.State == pidspace.Running {
			pi.Stat = "S" // it stands for a shell waiting for its job
		}
		if !p.Virtual && p.State != pidspace.Zombie {
			if st, cpu, ok := readStat(procfs, p.PID); ok {
				pi.Stat, pi.CPU = st, cpu
			}
			if cmd := readCmdline(procfs, p.PID); cmd != "" {
				pi.Cmd = cmd
			}
		}
		if p.State == pidspace.Zombie {
			pi.Cmd = "[" + p.Comm + "] <defunct>"
		}
		if p.SID == p.PID {
			pi.Stat += "s"
		}
		out = append(out, pi)
	}
	return out
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTick = time.Second / 100

// readStat reads the state letter and CPU time of pid from procfs.
func readStat(procfs string, pid int) (string, time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join(procfs, strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, false
	}
	return ParseProcStat(b)
}

// ParseProcStat parses a /proc/<pid>/stat line: the state letter and
// utime+stime. The command name may hold spaces and parentheses, so
// fields are counted from the last ')'.
func ParseProcStat(b []byte) (state string, cpu time.Duration, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return "", 0, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 63)
	st, err2 := strconv.ParseUint(f[12], 10, 63)
	if err1 != nil || err2 != nil || len(f[0]) != 1 {
		return "", 0, false
	}
	return f[0], time.Duration(ut+st) * clockTick, true
}

func readCmdline(procfs string, pid int) string {
	b, err := os.ReadFile(filepath.Join(procfs, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// ReadLoad reads the 1, 5 and 15 minute load averages from procfs.
func ReadLoad(procfs string) ([3]float64, error) {
	var l [3]float64
	b, err := os.ReadFile(filepath.Join(procfs, "loadavg"))
	if err != nil {
		return l, fmt.Errorf("read load: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return l, fmt.Errorf("read load: short loadavg %q", b)
	}
	for i := range l {
		if l[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return l, fmt.Errorf("read load: %w", err)
		}
	}
	return l, nil
}
