package launch

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gvisor.dev/gvisor/pkg/abi/linux"

	"herd/sentry"
)

// Parent describes the launcher as its program's parent: the node gives
// it to the launcher's stand-in process (the program's getppid()), as a
// shell hands its attributes on to its children. The stand-in applies the
// attributes with the caller's credentials (the socket's), so a launcher
// cannot gain by them what it could not set itself; validateParent only
// rejects what no process could have.
type Parent struct {
	Comm  string            `json:"comm,omitempty"`
	Args  []string          `json:"args,omitempty"`
	Attrs *sentry.ProcAttrs `json:"attrs,omitempty"`
}

// maxParentArgs bounds the launcher's command line sent for its stand-in
// (the program's own argv travels beside it).
const maxParentArgs = 16 << 10

// SelfParent describes the calling process (herd run) as a parent.
func SelfParent() *Parent {
	p := &Parent{Args: boundArgs(os.Args), Attrs: sentry.SelfAttrs()}
	if b, err := os.ReadFile("/proc/self/comm"); err == nil {
		p.Comm = strings.TrimSuffix(string(b), "\n")
	}
	return p
}

// boundArgs is args, cut to maxParentArgs bytes.
func boundArgs(args []string) []string { return args[:fittingArgs(args)] }

// fittingArgs is how many of args fit in maxParentArgs bytes, each with
// its NUL: the client cuts to it, the server rejects more.
func fittingArgs(args []string) int {
	n := 0
	for i, a := range args {
		if n += len(a) + 1; n > maxParentArgs {
			return i
		}
	}
	return len(args)
}

// validateParent rejects what no process can have; whether this caller
// may have its attributes is the kernel's decision, in the stand-in.
func validateParent(p *Parent) error {
	if p == nil {
		return nil
	}
	if len(p.Comm) >= linux.TASK_COMM_LEN || hasNUL(p.Comm) {
		return fmt.Errorf("bad launcher name %q", p.Comm)
	}
	if fittingArgs(p.Args) < len(p.Args) || slices.ContainsFunc(p.Args, hasNUL) {
		return fmt.Errorf("bad launcher command line")
	}
	if p.Attrs != nil {
		if err := p.Attrs.Validate(); err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
	}
	return nil
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }
