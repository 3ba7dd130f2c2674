package procview

import (
	"time"

	"herd/pidspace"
)

// Row is one process as `herd ps` shows it. It travels between nodes as
// JSON (the procs RPC), so its tags are part of the wire format.
type Row struct {
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
	// RSS is the resident memory in bytes, 0 if unknown.
	RSS uint64 `json:"rss,omitempty"`
	Cmd string `json:"cmd"`
	// Launcher marks the record of a herd run launcher, which stands for
	// the user's shell and has no task of its own.
	Launcher bool `json:"launcher,omitempty"`
}

// Rows renders a node's process records for ps. Live processes are read
// from fs (the node's procfs, where cluster PIDs are the kernel's) for
// their scheduler state, CPU time, memory and command line; what procfs
// does not show, or no longer shows because the process just exited,
// comes from the record. herd-init (PID 1) is the node's own machinery
// and every node has one, so it is left out.
func (fs FS) Rows(node string, procs []pidspace.Process) []Row {
	out := make([]Row, 0, len(procs))
	for _, p := range procs {
		if p.PID == pidspace.InitPID {
			continue
		}
		out = append(out, fs.row(node, &p))
	}
	return out
}

func (fs FS) row(node string, p *pidspace.Process) Row {
	r := Row{
		PID: p.PID, PPID: p.PPID, PGID: p.PGID, SID: p.SID, UID: p.Creds.RUID,
		Node: p.Node, Stat: p.State.String(), CPU: p.Usage.Utime + p.Usage.Stime,
		Cmd: p.Args, Launcher: p.Virtual,
	}
	if r.Node == "" {
		r.Node = node
	}
	if r.Cmd == "" {
		r.Cmd = p.Comm
	}
	if p.Virtual && p.State == pidspace.Running {
		r.Stat = "S" // it stands for a shell waiting for its job
	}
	if !p.Virtual && p.State != pidspace.Zombie {
		if st, err := fs.ReadStat(p.PID); err == nil {
			r.Stat, r.CPU, r.RSS = string(st.State), st.CPU(), st.RSS
		}
		if cmd, err := fs.ReadCommand(p.PID); err == nil && cmd != "" {
			r.Cmd = cmd
		}
	}
	if p.State == pidspace.Zombie {
		r.Cmd = "[" + p.Comm + "] <defunct>"
	}
	if p.SID == p.PID {
		r.Stat += "s"
	}
	return r
}
