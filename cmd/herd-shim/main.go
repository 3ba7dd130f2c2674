// Command herd-shim is herd's helpers (package herd/sentry/shim) alone:
// the program the sentry starts for every process it launches or places
// (and for its bell and the launcher's stand-in), built by make build
// beside the herd binary. It imports only what the helpers need, so it
// starts in a fraction of the herd binary's time. It is not for users.
package main

import (
	"fmt"
	"os"

	"herd/sentry/shim"
)

func main() {
	shim.Run(true)
	fmt.Fprintln(os.Stderr, "herd-shim: a helper of herd's sentry, not to be run by hand")
	os.Exit(2)
}
