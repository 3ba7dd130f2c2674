// Command herd runs unmodified Linux binaries across a cluster of nodes as
// one POSIX machine. This package is flags and wiring only: each
// subcommand's work is done by the packages it names (node, launch,
// sentry, syscalls).
package main

import (
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"herd/sentry"
	"herd/sentry/shim"
)

func main() {
	// herd re-executes itself as its helpers (shim, bell); they must not
	// see the CLI.
	sentry.RunHelper()
	if len(os.Args) > 1 {
		shim.Trace("herd: main " + os.Args[1])
	}
	os.Exit(run(os.Args))
}

// run runs the CLI and returns the exit status.
func run(args []string) int {
	app := newApp()
	err := app.Run(args)
	if err == nil {
		return 0
	}
	if ec, ok := err.(cli.ExitCoder); ok {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "herd: %v\n", err)
	return 125
}

func newApp() *cli.App {
	app := &cli.App{
		Name:    "herd",
		Usage:   "run Linux binaries across a cluster as one POSIX machine",
		Version: version(),
		Commands: []*cli.Command{
			runCommand(),
			nodeCommand(),
			nodesCommand(),
			psCommand(),
			placementCommand(),
			clusterCommand(),
			initCommand(),
			syscallsCommand(),
		},
		ExitErrHandler:  func(c *cli.Context, err error) {},
		CommandNotFound: unknownCommand,
		OnUsageError:    usageError("herd"),
	}
	for _, c := range app.Commands {
		setUsageErrors(c, "herd "+c.Name)
	}
	return app
}

// version is the module version of this binary, with the VCS revision it
// was built from when the build recorded one.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v
}

// unknownCommand answers a command that does not exist: one line on
// stderr, a hint, status 2.
func unknownCommand(c *cli.Context, name string) {
	where := "herd"
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != "herd" {
		where = "herd " + c.Command.Name
	}
	fmt.Fprintf(os.Stderr, "%s: unknown command %q\nRun '%s --help' for the list of commands.\n", where, name, where)
	os.Exit(2)
}

// setUsageErrors gives c and its subcommands one clear message for a bad
// or missing flag, where cli's default prints the error twice, or the
// whole help on stdout, and exits 1 or 125.
func setUsageErrors(c *cli.Command, name string) {
	if c.OnUsageError == nil {
		c.OnUsageError = usageError(name)
	}
	var required []string
	for _, f := range c.Flags {
		if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() {
			required = append(required, f.Names()[0])
			if sf, ok := f.(*cli.StringFlag); ok {
				sf.Required = false
			}
		}
	}
	if action := c.Action; action != nil && len(required) > 0 {
		c.Action = func(ctx *cli.Context) error {
			for _, f := range required {
				if !ctx.IsSet(f) {
					return usageExit(name, "missing --"+f)
				}
			}
			return action(ctx)
		}
	}
	for _, sub := range c.Subcommands {
		setUsageErrors(sub, name+" "+sub.Name)
	}
}

func usageError(name string) cli.OnUsageErrorFunc {
	return func(c *cli.Context, err error, _ bool) error {
		return usageExit(name, flagMessage(err.Error()))
	}
}

// usageExit is a usage error of command name: the message and a hint on
// stderr, status 2.
func usageExit(name, msg string) error {
	return cli.Exit(fmt.Sprintf("%s: %s\nRun '%s --help' for usage.", name, msg, name), 2)
}

// longFlag is a flag name of two or more characters in a message of the
// flag package, which writes every flag with one dash.
var longFlag = regexp.MustCompile(`(flag |: )-([[:alnum:]][[:alnum:]-]+)`)

// flagMessage rewrites the flag package's messages for this CLI's
// double-dash flags: "flag provided but not defined: -bogus" becomes
// "unknown flag --bogus".
func flagMessage(msg string) string {
	msg = strings.Replace(msg, "flag provided but not defined: ", "unknown flag ", 1)
	return longFlag.ReplaceAllString(msg, "$1--$2")
}
