package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"herd/launch"
	"herd/node"
	"herd/node/procfs"
	"herd/sentry"
)

// daemonEnv marks the re-executed herd node as the daemon, pid 1 of the
// node's namespace. It is internal: not a flag, so users never see it.
const daemonEnv = "HERD_INTERNAL_NODE_DAEMON"

// tokenEnv carries a join token into herd node (and from herd node to its
// daemon): the environment of a process is readable only by its owner,
// where its command line is readable by every user of the host.
const tokenEnv = "HERD_JOIN_TOKEN"

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:      "node",
		Usage:     "run a node daemon (root)",
		ArgsUsage: " ",
		Description: "Runs this machine's node of a herd cluster: the cluster port (mutual TLS;\n" +
			"Raft and herd RPC), the sentry, and the launcher socket herd run uses.\n" +
			"--bootstrap creates a cluster and prints a join token (also written to\n" +
			"DIR/join-token); --join adds this node to one, with the token from\n" +
			"--token-file or $" + tokenEnv + " (never on the command line, where every user\n" +
			"of the host could read it). Restarting with the same --data-dir rejoins with\n" +
			"the node's identity (neither flag is needed then). SIGTERM stops the node\n" +
			"cleanly; it stays a member (shown down) until `herd nodes remove`.",
		Flags:  nodeFlags(),
		Action: nodeAction,
	}
}

func nodeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Usage: "node state: certificates, Raft log and snapshots", Required: true},
		&cli.StringFlag{Name: "listen", Usage: "cluster port `HOST:PORT`", Required: true},
		&cli.StringFlag{Name: "advertise", Usage: "address other nodes dial, if not --listen's (`HOST:PORT`)"},
		&cli.BoolFlag{Name: "bootstrap", Usage: "create a new cluster with this node as its first member"},
		&cli.StringFlag{Name: "join", Usage: "join the cluster of the node at `HOST:PORT`"},
		&cli.StringFlag{Name: "token-file", Usage: "read the join token from `FILE` (default $" + tokenEnv + ")"},
		// Refused with a pointer to the safe ways; hidden so that nobody
		// starts using it.
		&cli.StringFlag{Name: "token", Hidden: true},
		&cli.StringFlag{Name: "name", Usage: "node id (default: the host name)"},
		&cli.StringFlag{Name: "cpus", Usage: "host CPUs the node's processes may use (a cgroup), as a `LIST` like 0-3,6 (default: all)"},
		&cli.StringFlag{Name: "memory", Usage: "memory the node's processes may use (a cgroup), like 8G (default: all)"},
		&cli.StringFlag{Name: "socket", Usage: "launcher socket `PATH`", Value: launch.DefaultSocket},
		&cli.IntFlag{Name: "voters", Usage: "how many nodes vote in Raft (3 or 5)", Value: node.DefaultVoters},
		&cli.DurationFlag{Name: "election-timeout", Usage: "Raft heartbeat and election timeout", Value: node.DefaultElectionTimeout},
		&cli.DurationFlag{Name: "suspect-after", Usage: "silence before a node is shown suspect", Value: node.DefaultSuspectAfter},
		&cli.DurationFlag{Name: "down-after", Usage: "silence before a node is shown down", Value: node.DefaultDownAfter},
		&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error", Value: "info"},
	}
}

// nodeAction is herd node: the user's process checks the flags and
// starts the daemon; the daemon (daemonEnv set) runs the node.
func nodeAction(c *cli.Context) error {
	// Only the re-executed process is pid 1 of a new namespace; set by
	// anyone else, the variable means nothing.
	if os.Getenv(daemonEnv) != "" && os.Getpid() == 1 {
		os.Unsetenv(daemonEnv)
		return daemonMain(c)
	}
	cfg, err := nodeConfig(c)
	if err != nil {
		return err
	}
	if err := cfg.Check(); err != nil {
		return cli.Exit("herd node: "+err.Error(), 2)
	}
	if os.Geteuid() != 0 {
		return cli.Exit("herd node: must run as root (it creates namespaces and traces processes)", 1)
	}
	cg, err := node.Confine(cfg)
	if err != nil {
		var ue *node.UsageError
		if errors.As(err, &ue) {
			return cli.Exit("herd node: "+ue.Msg, 2)
		}
		return fmt.Errorf("herd node: confine the node: %w", err)
	}
	return startDaemon(cfg.Token, cg)
}

// nodeConfig is the node.Config the flags say, but for the logger.
func nodeConfig(c *cli.Context) (node.Config, error) {
	token, err := joinToken(c)
	if err != nil {
		return node.Config{}, err
	}
	return node.Config{
		DataDir: c.String("data-dir"), Listen: c.String("listen"), Advertise: c.String("advertise"),
		Bootstrap: c.Bool("bootstrap"), Join: c.String("join"), Token: token,
		Name: c.String("name"), CPUs: c.String("cpus"), Memory: c.String("memory"),
		Socket: c.String("socket"), Voters: c.Int("voters"),
		ElectionTimeout: c.Duration("election-timeout"),
		SuspectAfter:    c.Duration("suspect-after"),
		DownAfter:       c.Duration("down-after"),
	}, nil
}

// joinToken is the join token from --token-file or the environment. A
// token on the command line is refused: ps shows it to every user.
func joinToken(c *cli.Context) (string, error) {
	if c.IsSet("token") {
		return "", cli.Exit("herd node: --token would show the join token to every user of this host (ps):\n"+
			"give it with --token-file FILE or in $"+tokenEnv, 2)
	}
	if path := c.String("token-file"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", cli.Exit(fmt.Sprintf("herd node: --token-file: %v", err), 2)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", cli.Exit(fmt.Sprintf("herd node: --token-file %s is empty", path), 2)
		}
		return tok, nil
	}
	return strings.TrimSpace(os.Getenv(tokenEnv)), nil
}

// startDaemon re-executes herd node as pid 1 of a new PID and mount
// namespace (the network namespace is shared: the node listens on the
// host's addresses), forwards SIGTERM, SIGINT and SIGHUP to it and exits
// with its status. If this process is killed, the daemon gets SIGKILL and
// the namespace dies with it. The token goes in the environment. With a
// cgroup, this process enters it first, so that the daemon and all its
// namespace are born in it, and removes it when the daemon has gone (a
// cgroup a SIGKILL left is removed at the next start).
func startDaemon(token string, cg *node.Cgroup) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the herd binary: %w", err)
	}
	env := append(os.Environ(), daemonEnv+"=1", procfs.InitEnv)
	if token != "" {
		env = append(env, tokenEnv+"="+token)
	}
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"herd"}, os.Args[1:]...), Env: env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	// Pdeathsig fires when the thread that forked exits: keep it.
	runtime.LockOSThread()
	if cg != nil {
		defer func() {
			if err := cg.Remove(); err != nil {
				fmt.Fprintf(os.Stderr, "herd node: %v\n", err)
			}
		}()
		if err := cg.Enter(); err != nil {
			return err
		}
	}
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
	return exitStatus(cmd.Wait(), "run node daemon")
}

// exitStatus makes a child's end this process's exit status.
func exitStatus(err error, what string) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return cli.Exit("", 128+int(ws.Signal()))
		}
		return cli.Exit("", ws.ExitStatus())
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// daemonMain is the node daemon, pid 1 of the node's namespace: it runs
// the node until SIGTERM or SIGINT, even while joining.
func daemonMain(c *cli.Context) error {
	cfg, err := nodeConfig(c)
	if err != nil {
		return err
	}
	os.Unsetenv(tokenEnv)
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cli.Exit(fmt.Sprintf("herd node: --log-level: %v", err), 2)
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = node.Run(ctx, cfg)
	var ue *node.UsageError
	if errors.As(err, &ue) {
		return cli.Exit("herd node: "+ue.Msg, 2)
	}
	return err
}

// socketFlag is the --socket flag of the commands that talk to a daemon.
func socketFlag() cli.Flag {
	return &cli.StringFlag{Name: "socket", Usage: "node daemon socket `PATH` (default $HERD_SOCKET, else " + launch.DefaultSocket + ")"}
}

// socketPath is the daemon socket to use: --socket, $HERD_SOCKET, or the
// default.
func socketPath(c *cli.Context) string {
	if p := c.String("socket"); p != "" {
		return p
	}
	if p := os.Getenv("HERD_SOCKET"); p != "" {
		return p
	}
	return launch.DefaultSocket
}
