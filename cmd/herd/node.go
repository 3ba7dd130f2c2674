package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"herd/remote"
	"herd/sentry"
)

// defaultSocket is where herd run looks for the local daemon.
const defaultSocket = "/run/herd/herd.sock"

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:      "node",
		Usage:     "run a node daemon (root)",
		ArgsUsage: " ",
		Description: "Runs this machine's node of a herd cluster: the cluster port (mutual TLS;\n" +
			"Raft and herd RPC), the sentry, and the launcher socket herd run uses.\n" +
			"--bootstrap creates a cluster and prints a join token; --join adds this node\n" +
			"to one. Restarting with the same --data-dir rejoins with the node's identity\n" +
			"(neither flag is needed then). SIGTERM stops the node cleanly; it stays a\n" +
			"member (shown down) until `herd nodes remove`.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Usage: "node state: certificates, Raft log and snapshots", Required: true},
			&cli.StringFlag{Name: "listen", Usage: "cluster port `HOST:PORT`", Required: true},
			&cli.StringFlag{Name: "advertise", Usage: "address other nodes dial, if not --listen's (`HOST:PORT`)"},
			&cli.BoolFlag{Name: "bootstrap", Usage: "create a new cluster with this node as its first member"},
			&cli.StringFlag{Name: "join", Usage: "join the cluster of the node at `HOST:PORT`"},
			&cli.StringFlag{Name: "token", Usage: "join token printed by the bootstrap node", EnvVars: []string{"HERD_TOKEN"}},
			&cli.StringFlag{Name: "name", Usage: "node id (default: the host name)"},
			&cli.StringFlag{Name: "cpus", Usage: "CPUs to offer, as a `LIST` like 0-3,6 (default: all)"},
			&cli.StringFlag{Name: "memory", Usage: "memory to offer, like 8G (default: all)"},
			&cli.StringFlag{Name: "socket", Usage: "launcher socket `PATH`", Value: defaultSocket},
			&cli.IntFlag{Name: "voters", Usage: "how many nodes vote in Raft (3 or 5)", Value: 3},
			&cli.DurationFlag{Name: "election-timeout", Usage: "Raft heartbeat and election timeout", Value: time.Second, Hidden: true},
			&cli.DurationFlag{Name: "suspect-after", Usage: "silence before a node is suspect", Value: 3 * time.Second, Hidden: true},
			&cli.DurationFlag{Name: "down-after", Usage: "silence before a node is down", Value: 10 * time.Second, Hidden: true},
			&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error", Value: "info"},
			&cli.BoolFlag{Name: "pid1", Hidden: true, Usage: "internal: this is the daemon, pid 1 of the node's namespace"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("pid1") {
				return daemonMain(c)
			}
			return nodeAction(c)
		},
	}
}

// nodeAction checks the flags, then re-executes herd as pid 1 of a new PID
// and mount namespace (the network namespace is shared: the node listens on
// the host's addresses), forwards SIGTERM, SIGINT and SIGHUP to it and exits
// with its status. If this process is killed, the daemon gets SIGKILL and
// the namespace dies with it.
func nodeAction(c *cli.Context) error {
	if c.Bool("bootstrap") && c.String("join") != "" {
		return cli.Exit("herd node: --bootstrap and --join exclude each other", 2)
	}
	if c.String("join") != "" && c.String("token") == "" {
		return cli.Exit("herd node: --join needs --token", 2)
	}
	if os.Geteuid() != 0 {
		return cli.Exit("herd node: must run as root (it creates namespaces and traces processes)", 1)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the herd binary: %w", err)
	}
	args := append([]string{"herd"}, os.Args[1:]...)
	// After "node", so the flag belongs to the subcommand.
	for i, a := range args {
		if a == "node" {
			args = append(args[:i+1], append([]string{"--pid1"}, args[i+1:]...)...)
			break
		}
	}
	cmd := &exec.Cmd{Path: exe, Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	// Pdeathsig fires when the thread that forked exits: keep it.
	runtime.LockOSThread()
	if err := sentry.StartInit(cmd); err != nil {
		return err
	}
	go func() {
		for sig := range sigs {
			s := sig.(syscall.Signal)
			if s == syscall.SIGHUP {
				s = syscall.SIGTERM
			}
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return cli.Exit("", 128+int(ws.Signal()))
		}
		return cli.Exit("", ws.ExitStatus())
	}
	if err != nil {
		return fmt.Errorf("run node daemon: %w", err)
	}
	return nil
}

// nodeResources are the CPUs and memory a node offers.
func nodeResources(cpus, memory string) ([]int, uint64, error) {
	var list []int
	if cpus == "" {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			return nil, 0, fmt.Errorf("read cpu affinity: %w", err)
		}
		for i := 0; i < len(set)*64; i++ {
			if set.IsSet(i) {
				list = append(list, i)
			}
		}
	} else {
		var err error
		if list, err = parseCPUList(cpus); err != nil {
			return nil, 0, err
		}
	}
	var mem uint64
	if memory == "" {
		var err error
		if mem, err = memTotal(); err != nil {
			return nil, 0, err
		}
	} else {
		var err error
		if mem, err = parseSize(memory); err != nil {
			return nil, 0, err
		}
	}
	return list, mem, nil
}

// parseCPUList parses a kernel-style CPU list: "0-3,6".
func parseCPUList(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 1<<16 {
			return nil, fmt.Errorf("cpu list %q: bad element %q", s, part)
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out, nil
}

// parseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024).
func parseSize(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	mult := uint64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil || v == 0 || v > (1<<63)/mult {
		return 0, fmt.Errorf("memory size %q: want a number with an optional K, M, G or T", s)
	}
	return v * mult, nil
}

func memTotal() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read memory size: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read memory size: no MemTotal in /proc/meminfo")
}

// nodeName is the default node id: the host name, made a valid id.
func nodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	h, _, _ = strings.Cut(h, ".")
	if remote.ValidateNodeID(h) != nil {
		return "node"
	}
	return h
}

// advertiseHosts are the names a node's certificate is issued for: the
// host of its advertised address.
func advertiseHosts(addr string) ([]string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return nil, fmt.Errorf("address %q is not dialable: give --advertise", addr)
	}
	return []string{host}, nil
}

// listenUnix makes the launcher socket at path: SOCK_SEQPACKET, mode 0666
// so that every user can run programs (as themselves). A stale socket
// whose daemon is gone is replaced; a live one is an error.
func listenUnix(path string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return -1, fmt.Errorf("launcher socket: %w", err)
	}
	if fd, err := dialSocket(path); err == nil {
		unix.Close(fd)
		return -1, fmt.Errorf("launcher socket %s: another node daemon is serving it", path)
	}
	os.Remove(path)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("launcher socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("launcher socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("launcher socket %s: %w", path, err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("launcher socket %s: %w", path, err)
	}
	return fd, nil
}

// dialSocket connects to a node daemon's launcher socket.
func dialSocket(path string) (int, error) {
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
