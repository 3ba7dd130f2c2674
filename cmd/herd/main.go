// Command herd runs unmodified Linux binaries across a cluster of nodes as
// one POSIX machine. This file is wiring only: each subcommand's work is
// done by the packages it names.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"herd/sentry"
)

func main() {
	// herd re-executes itself as its helpers (shim, bell); they must not
	// see the CLI.
	sentry.RunHelper()
	app := &cli.App{
		Name:  "herd",
		Usage: "run Linux binaries across a cluster as one POSIX machine",
		Commands: []*cli.Command{
			runCommand(),
			nodeCommand(),
			nodesCommand(),
			psCommand(),
			clusterCommand(),
			initCommand(),
			syscallsCommand(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {},
	}
	if err := app.Run(os.Args); err != nil {
		if ec, ok := err.(cli.ExitCoder); ok {
			if msg := ec.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, msg)
			}
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "herd: %v\n", err)
		os.Exit(125)
	}
}
