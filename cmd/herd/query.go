package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"herd/launch"
	"herd/procview"
)

func nodesCommand() *cli.Command {
	return &cli.Command{
		Name:  "nodes",
		Usage: "list the nodes of the cluster",
		Description: "Lists every member: id, address, role (leader, voter, non-voter), state (up,\n" +
			"suspect, down: from heartbeats), CPUs, memory, load and process count.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			socketFlag(),
		},
		Action: nodesAction,
		Subcommands: []*cli.Command{{
			Name:      "remove",
			Usage:     "remove a node from the cluster (root); a non-voter takes a removed voter's place",
			ArgsUsage: "ID",
			Flags:     []cli.Flag{socketFlag()},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return cli.Exit("herd nodes remove: usage: herd nodes remove ID", 2)
				}
				if _, err := query(c, "nodes remove", launch.Msg{Op: launch.OpRemove, Node: c.Args().First()}); err != nil {
					return err
				}
				return nil
			},
		}},
	}
}

func placementCommand() *cli.Command {
	return &cli.Command{
		Name:      "placement",
		Usage:     "show or set (root) the cluster's default placement policy",
		ArgsUsage: "[POLICY]",
		Description: "Where the execs of programs run with herd run go when --placement is not\n" +
			"given: local (never move), spread (every exec to the next node, round-robin),\n" +
			"least-loaded (to the node with the most idle CPU) or node:ID. The policy is\n" +
			"held in Raft; a new cluster starts with local.",
		Flags: []cli.Flag{socketFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return cli.Exit("herd placement: usage: herd placement [POLICY]", 2)
			}
			m, err := query(c, "placement", launch.Msg{Op: launch.OpPlacement, Placement: c.Args().First()})
			if err != nil {
				return err
			}
			fmt.Println(m.Placement)
			return nil
		},
	}
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list every process of the cluster",
		Description: "Lists the cluster's PID namespace, asking each node for the processes whose\n" +
			"PIDs it homes. herd-init (PID 1 of each node) is not listed; herd-run is the\n" +
			"launcher standing for the shell of a herd run.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "only processes of `USER` (name or uid)"},
			&cli.StringFlag{Name: "node", Usage: "only processes homed on node `ID`"},
			socketFlag(),
		},
		Action: psAction,
	}
}

// query sends one request to the daemon and collects its answer.
func query(c *cli.Context, name string, req launch.Msg) (launch.Msg, error) {
	fd, err := launch.Dial(socketPath(c))
	if err != nil {
		return launch.Msg{}, cli.Exit(fmt.Sprintf("herd %s: no node daemon: %v", name, err), 1)
	}
	defer unix.Close(fd)
	m, err := launch.Query(fd, req)
	var ne *launch.NodeError
	switch {
	case errors.Is(err, launch.ErrHungUp):
		return launch.Msg{}, cli.Exit(fmt.Sprintf("herd %s: the node daemon hung up", name), 1)
	case errors.As(err, &ne):
		return launch.Msg{}, cli.Exit(fmt.Sprintf("herd %s: %s", name, ne.Msg), 1)
	}
	return m, err
}

func warnUnreachable(errs []string) {
	for _, e := range errs {
		fmt.Fprintf(os.Stderr, "herd: node %s\n", e)
	}
}

func nodesAction(c *cli.Context) error {
	// A node that does not answer shows "-" for load and processes.
	m, err := query(c, "nodes", launch.Msg{Op: launch.OpNodes})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		rows := m.Nodes
		if rows == nil {
			rows = []launch.NodeRow{}
		}
		return printJSON(rows)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tADDRESS\tROLE\tSTATE\tCPUS\tMEMORY\tLOAD\tPROCS")
	for _, n := range m.Nodes {
		load, procs := "-", "-"
		if n.Load != nil {
			load = fmt.Sprintf("%.2f", n.Load[0])
		}
		if n.Procs != nil {
			procs = strconv.Itoa(*n.Procs)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", n.ID, n.Address, n.Role, n.State, n.CPUs,
			humanBytes(n.MemoryBytes), load, procs)
	}
	return w.Flush()
}

func psAction(c *cli.Context) error {
	var (
		wantUID uint32
		byUser  bool
	)
	if u := c.String("user"); u != "" {
		uid, err := lookupUID(u)
		if err != nil {
			return cli.Exit(fmt.Sprintf("herd ps: user %s: %v", u, err), 2)
		}
		wantUID, byUser = uid, true
	}
	m, err := query(c, "ps", launch.Msg{Op: launch.OpPs, Node: c.String("node")})
	if err != nil {
		return err
	}
	warnUnreachable(m.Errors)
	procs := m.Procs[:0]
	for _, p := range m.Procs {
		if !byUser || p.UID == wantUID {
			procs = append(procs, p)
		}
	}
	if c.Bool("json") {
		if procs == nil {
			procs = []procview.Row{}
		}
		return printJSON(procs)
	}
	names := map[uint32]string{}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 1, ' ', 0)
	fmt.Fprintln(w, "PID\tPPID\tPGID\tSID\tUID\tNODE\tSTAT\tTIME\tCMD")
	for _, p := range procs {
		name, ok := names[p.UID]
		if !ok {
			name = strconv.FormatUint(uint64(p.UID), 10)
			if u, err := user.LookupId(name); err == nil {
				name = u.Username
			}
			names[p.UID] = name
		}
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", p.PID, p.PPID, p.PGID, p.SID, name, p.Node,
			p.Stat, cpuTime(p.CPU), p.Cmd)
	}
	return w.Flush()
}

func lookupUID(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	return uint32(n), err
}

// cpuTime formats CPU time as ps does: [DD-]HH:MM:SS.
func cpuTime(d time.Duration) string {
	s := int64(d / time.Second)
	if days := s / 86400; days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, s/3600%24, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

func humanBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%dB", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(b)/float64(div)), ".0") + string("KMGTPE"[exp]) + "i"
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
