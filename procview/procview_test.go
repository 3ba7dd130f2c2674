package procview

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/remote/fuzzbrief"
)

// startChild runs sleep in its own session with SIGUSR1 ignored, and
// reaps it when the test ends.
func startChild(t *testing.T) *exec.Cmd {
	t.Helper()
	signal.Ignore(syscall.SIGUSR1) // inherited across exec as ignored
	defer signal.Reset(syscall.SIGUSR1)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep to run: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait until it sleeps, so that its exec is over.
	for {
		st, err := ReadStat(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == 'S' {
			return cmd
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStatusSelf(t *testing.T) {
	st, err := ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid != os.Getpid() || st.Tgid != os.Getpid() || st.PPid != os.Getppid() {
		t.Fatalf("pid %d tgid %d ppid %d, want %d %d %d", st.Pid, st.Tgid, st.PPid, os.Getpid(), os.Getpid(), os.Getppid())
	}
	if st.Uid[0] != uint32(os.Getuid()) || st.Uid[1] != uint32(os.Geteuid()) || st.Gid[0] != uint32(os.Getgid()) {
		t.Fatalf("uid %v gid %v", st.Uid, st.Gid)
	}
	groups, _ := os.Getgroups()
	if len(st.Groups) != len(groups) {
		t.Fatalf("groups %v, want %v", st.Groups, groups)
	}
	if st.Threads < 1 || st.State == 0 || st.Name == "" || st.VmRSS == 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestChild(t *testing.T) {
	cmd := startChild(t)
	pid := cmd.Process.Pid
	st, err := ReadStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "sleep" || st.PPid != os.Getpid() || st.Tgid != pid || st.Threads != 1 {
		t.Fatalf("status %+v", st)
	}
	if !st.Ignored(int(unix.SIGUSR1)) || st.Default(int(unix.SIGUSR1)) || !st.Default(int(unix.SIGTERM)) {
		t.Fatalf("SigIgn %#x SigCgt %#x", st.SigIgn, st.SigCgt)
	}
	stat, err := ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if stat.PID != pid || stat.Comm != "sleep" || stat.PPID != os.Getpid() || stat.Session != pid ||
		stat.PGRP != pid || stat.NumThreads != 1 || stat.StartTime <= 0 || stat.VSize == 0 {
		t.Fatalf("stat %+v", stat)
	}
	args, err := ReadCmdline(pid)
	if err != nil || strings.Join(args, "|") != "sleep|60" {
		t.Fatalf("cmdline %q, %v", args, err)
	}
	if cmdStr, err := ReadCommand(pid); err != nil || cmdStr != "sleep 60" {
		t.Fatalf("command %q, %v", cmdStr, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for name, err := range map[string]error{
		"status":  Proc.ReadStatusInto(pid, st),
		"stat":    func() error { _, err := ReadStat(pid); return err }(),
		"cmdline": func() error { _, err := ReadCmdline(pid); return err }(),
	} {
		if !errors.Is(err, ErrGone) || !errors.Is(err, unix.ESRCH) {
			t.Errorf("%s of a reaped process: %v, want ESRCH", name, err)
		}
	}
}

func TestZombie(t *testing.T) {
	cmd := startChild(t)
	pid := cmd.Process.Pid
	cmd.Process.Kill()
	// Wait for the zombie without reaping it.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStat(pid)
	if err != nil || st.State != 'Z' {
		t.Fatalf("stat of a zombie: %+v, %v", st, err)
	}
	if args, err := ReadCmdline(pid); err != nil || args != nil {
		t.Fatalf("cmdline of a zombie: %q, %v", args, err)
	}
}

func TestPidfdTarget(t *testing.T) {
	cmd := startChild(t)
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Skipf("pidfd_open: %v", err)
	}
	defer unix.Close(fd)
	if pid, err := ReadPidfdTarget(os.Getpid(), fd); err != nil || pid != cmd.Process.Pid {
		t.Fatalf("target %d, %v, want %d", pid, err, cmd.Process.Pid)
	}
	if _, err := ReadPidfdTarget(os.Getpid(), 0); !errors.Is(err, ErrNotPidfd) {
		t.Fatalf("stdin as a pidfd: %v", err)
	}
	if _, err := ReadPidfdTarget(os.Getpid(), 1<<20); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("closed fd: %v", err)
	}
}

func TestNode(t *testing.T) {
	if l, err := ReadLoad(); err != nil || l[0] < 0 {
		t.Fatalf("load %v, %v", l, err)
	}
	if m, err := ReadMemInfo(); err != nil || m.Total == 0 || m.Available > m.Total {
		t.Fatalf("meminfo %+v, %v", m, err)
	}
}

func TestRows(t *testing.T) {
	cmd := startChild(t)
	pid := cmd.Process.Pid
	rows := Proc.Rows("n1", []pidspace.Process{
		{PID: pidspace.InitPID, Comm: "herd-init"},
		{PID: pid, PPID: 1, PGID: pid, SID: pid, Comm: "sleep", State: pidspace.Running},
		{PID: 1 << 22, PPID: pid, PGID: pid, SID: pid, Comm: "gone", Args: "gone -x", Node: "n2", State: pidspace.Running},
		{PID: 1<<22 + 1, PPID: pid, Comm: "dead", State: pidspace.Zombie},
	})
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	if r := rows[0]; r.Node != "n1" || r.Cmd != "sleep 60" || r.Stat != "Ss" || r.RSS == 0 {
		t.Errorf("live row %+v", r)
	}
	if r := rows[1]; r.Node != "n2" || r.Cmd != "gone -x" || r.Stat != pidspace.Running.String() {
		t.Errorf("vanished row %+v", r)
	}
	if r := rows[2]; r.Cmd != "[dead] <defunct>" {
		t.Errorf("zombie row %+v", r)
	}
}

func TestStatusAllocations(t *testing.T) {
	var st Status
	pid := os.Getpid()
	if err := Proc.ReadStatusInto(pid, &st); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() { Proc.ReadStatusInto(pid, &st) })
	// The name; the path is built on the stack and the buffer pooled.
	if n > 1 {
		t.Fatalf("%v allocations per status read", n)
	}
}

func TestParseStat(t *testing.T) {
	line := "4097 (a) b) c) S 1 4097 4097 34816 -1 4194304 1 0 0 0 7 3 0 0 20 0 1 0 12345 1000 2 18446744073709551615"
	var st Stat
	if err := ParseStat([]byte(line), &st); err != nil {
		t.Fatal(err)
	}
	if st.PID != 4097 || st.Comm != "a) b) c" || st.State != 'S' || st.TTY != 34816 || st.TPGID != -1 ||
		st.CPU() != 10*ClockTick || st.StartTime != 12345*ClockTick || st.VSize != 1000 || st.Processor != -1 {
		t.Fatalf("%+v", st)
	}
	// A whole line: processor is field 39.
	full := line + " 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0"
	if err := ParseStat([]byte(full), &st); err != nil || st.Processor != 3 {
		t.Fatalf("processor of %q: %d, %v", full, st.Processor, err)
	}
	if own, err := ReadStat(os.Getpid()); err != nil || own.Processor < 0 {
		t.Fatalf("own stat: processor %v, %v", own, err)
	}
	for _, bad := range []string{"", "1 (x) R", "x (y) S 1 2 3", "1 (x) RR 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"} {
		if ParseStat([]byte(bad), &st) == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParse feeds arbitrary bytes to the status and stat parsers: they
// must return an error or a parse, never panic.
func FuzzParse(f *testing.F) {
	seeds, body := parseTarget(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(body)
}

func parseTarget(testing.TB) ([][]byte, func(*testing.T, []byte)) {
	seeds := [][]byte{
		[]byte("Name:\tsh\nPid:\t1\nUid:\t0 0 0 0\nGroups:\t1 2\nSigIgn:\tffff\nVmRSS:\t 12 kB\n"),
		[]byte("1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1"),
		[]byte("4097 (a) b) c) S 1 4097 4097 34816 -1 4194304 1 0 0 0 7 3 0 0 20 0 1 0 12345 1000 2"),
	}
	return seeds, func(t *testing.T, b []byte) {
		var st Status
		if ParseStatus(b, &st) == nil && st.Pid < 0 && !bytes.Contains(b, []byte("-")) {
			t.Fatalf("negative pid from %q", b)
		}
		var s Stat
		if ParseStat(b, &s) == nil && (s.Utime < 0 || s.StartTime < 0) {
			t.Fatalf("negative time %+v", s)
		}
	}
}

// TestFuzzTargetsBriefly runs the fuzz targets in every go test.
func TestFuzzTargetsBriefly(t *testing.T) {
	fuzzbrief.Run(t, map[string]fuzzbrief.Target{"Parse": parseTarget})
}

func TestParseSyscall(t *testing.T) {
	var sc Syscall
	in := "128 0x7ffc1a2b3c40 0x0 0x7ffc1a2b3c50 0x8 0x0 0x0 0x7ffc1a2b3c08 0x7f1e2d3c4b5a\n"
	if err := ParseSyscall([]byte(in), &sc); err != nil || sc.Nr != 128 || sc.Args[0] != 0x7ffc1a2b3c40 || sc.Args[3] != 8 {
		t.Fatalf("%q: %+v, %v", in, sc, err)
	}
	if err := ParseSyscall([]byte("running\n"), &sc); err != nil || sc.Nr != -2 {
		t.Fatalf("running: %+v, %v", sc, err)
	}
	if err := ParseSyscall([]byte("-1 0x7ffc1a2b3c08 0x7f1e2d3c4b5a\n"), &sc); err != nil || sc.Nr != -1 {
		t.Fatalf("outside a call: %+v, %v", sc, err)
	}
	if err := ParseSyscall([]byte("7 0xzz"), &sc); err == nil {
		t.Fatalf("bad argument parsed: %+v", sc)
	}
}

func TestFdInfo(t *testing.T) {
	f, err := os.OpenFile(t.TempDir()+"/f", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("twelve bytes")
	fi, err := ReadFdInfo(os.Getpid(), int(f.Fd()))
	if err != nil || fi.Pos != 12 || fi.Flags&unix.O_ACCMODE != unix.O_WRONLY ||
		fi.Flags&unix.O_APPEND == 0 || fi.Flags&unix.O_CLOEXEC == 0 || fi.MntID == 0 {
		t.Fatalf("fdinfo %+v (flags %o), %v", fi, fi.Flags, err)
	}
	if _, err := ReadFdInfo(os.Getpid(), 1<<20); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("closed fd: %v", err)
	}
	if _, err := ReadFdInfo(1<<22, 0); !errors.Is(err, ErrGone) {
		t.Fatalf("fd of a process that is gone: %v", err)
	}
}
