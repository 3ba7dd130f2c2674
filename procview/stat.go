package procview

import (
	"bytes"
	"fmt"
	"os"
	"time"
)

// ClockTick is USER_HZ, the unit of the times in /proc/<pid>/stat: the
// kernel fixes it at 100 for user space on every Linux architecture.
const ClockTick = time.Second / 100

// Stat is the parsed /proc/<pid>/stat line (or /proc/<pid>/task/<tid>/stat).
type Stat struct {
	PID  int
	Comm string // the command name, without its parentheses
	// State is the state letter: R, S, D, T, t, Z, X, I …
	State                   byte
	PPID, PGRP, Session     int
	TTY                     int // tty_nr, the controlling terminal's device
	TPGID                   int // foreground group of the terminal, -1 if none
	Utime, Stime            time.Duration
	CUtime, CStime          time.Duration // of waited-for children
	Nice                    int
	NumThreads              int
	StartTime               time.Duration // since boot
	VSize                   uint64        // bytes
	RSS                     uint64        // bytes
	MinorFaults, MajorFault uint64
	// Processor is the CPU the task last ran on (the kernel's
	// numbering), -1 if the line is too short to say.
	Processor int
}

// CPU is user plus system time.
func (s *Stat) CPU() time.Duration { return s.Utime + s.Stime }

// ReadStat reads /proc/<pid>/stat.
func (fs FS) ReadStat(pid int) (*Stat, error) {
	st := new(Stat)
	if err := fs.read(pid, "stat", true, func(b []byte) error { return ParseStat(b, st) }); err != nil {
		return nil, err
	}
	return st, nil
}

// ReadStat reads /proc/<pid>/stat of the kernel's procfs.
func ReadStat(pid int) (*Stat, error) { return Proc.ReadStat(pid) }

// statFields are the indices, counted from the state (field 3 of
// proc(5)) as 0, of the fields ParseStat reads.
const (
	fState      = 0
	fPPID       = 1
	fPGRP       = 2
	fSession    = 3
	fTTY        = 4
	fTPGID      = 5
	fMinflt     = 7
	fMajflt     = 9
	fUtime      = 11
	fStime      = 12
	fCUtime     = 13
	fCStime     = 14
	fNice       = 16
	fNumThreads = 17
	fStartTime  = 19
	fVSize      = 20
	fRSS        = 21
	nStatFields = 22
	fProcessor  = 36
)

// ParseStat parses a stat line. The command name may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func ParseStat(b []byte, st *Stat) error {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return fmt.Errorf("stat: no (comm) in %.40q", b)
	}
	pid, err := parseInt(trim(b[:open]))
	if err != nil {
		return fmt.Errorf("stat pid: %w", err)
	}
	var f [nStatFields][]byte
	for n, i := 0, end+1; n < nStatFields; n++ {
		if f[n], i = field(b, i); len(f[n]) == 0 {
			return fmt.Errorf("stat: %d fields after the command, want %d", n, nStatFields)
		}
	}
	if len(f[fState]) != 1 {
		return fmt.Errorf("stat: state %q", f[fState])
	}
	*st = Stat{PID: int(pid), Comm: string(b[open+1 : end]), State: f[fState][0]}
	ints := []struct {
		dst *int
		i   int
	}{{&st.PPID, fPPID}, {&st.PGRP, fPGRP}, {&st.Session, fSession}, {&st.TTY, fTTY},
		{&st.TPGID, fTPGID}, {&st.Nice, fNice}, {&st.NumThreads, fNumThreads}}
	for _, x := range ints {
		if *x.dst, err = atoi(f[x.i]); err != nil {
			return fmt.Errorf("stat field %d: %w", x.i+3, err)
		}
	}
	var u [9]uint64
	for n, i := range [9]int{fUtime, fStime, fCUtime, fCStime, fStartTime, fVSize, fRSS, fMinflt, fMajflt} {
		if u[n], err = parseUint(f[i], 10); err != nil {
			return fmt.Errorf("stat field %d: %w", i+3, err)
		}
		if n < 5 && u[n] > uint64(1<<63-1)/uint64(ClockTick) {
			return fmt.Errorf("stat field %d: %d ticks overflow", i+3, u[n])
		}
	}
	st.Utime, st.Stime = ticks(u[0]), ticks(u[1])
	st.CUtime, st.CStime, st.StartTime = ticks(u[2]), ticks(u[3]), ticks(u[4])
	st.VSize, st.RSS = u[5], u[6]*uint64(os.Getpagesize())
	st.MinorFaults, st.MajorFault = u[7], u[8]
	st.Processor = -1
	i := end + 1
	for range fProcessor {
		_, i = field(b, i)
	}
	if p, _ := field(b, i); len(p) > 0 {
		if st.Processor, err = atoi(p); err != nil {
			return fmt.Errorf("stat field %d: %w", fProcessor+3, err)
		}
	}
	return nil
}

func ticks(n uint64) time.Duration { return time.Duration(n) * ClockTick }
