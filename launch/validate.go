package launch

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// validateRun checks a run message that came with nfiles descriptors:
// the three of stdio, an absolute program path, and strings execve can
// pass (no NUL bytes). The identity fields of the message are ignored:
// the caller is who the socket says.
// maxPlacement bounds a placement policy (as raftstate bounds the
// cluster's).
const maxPlacement = 128

func validateRun(m Msg, nfiles int) error {
	if nfiles != 3 {
		return fmt.Errorf("bad run request: %d fds, want 3", nfiles)
	}
	if m.Path == "" || !filepath.IsAbs(m.Path) {
		return fmt.Errorf("bad run request: program path %q is not absolute", m.Path)
	}
	if m.Dir != "" && !filepath.IsAbs(m.Dir) {
		return fmt.Errorf("bad run request: directory %q is not absolute", m.Dir)
	}
	if len(m.Placement) > maxPlacement {
		return fmt.Errorf("bad run request: placement of %d bytes", len(m.Placement))
	}
	for _, list := range [][]string{{m.Path, m.Dir, m.Placement}, m.Argv, m.Env} {
		for _, s := range list {
			if hasNUL(s) {
				return fmt.Errorf("bad run request: NUL byte in %q", s)
			}
		}
	}
	for _, sig := range m.Ignored {
		if sig < 1 || sig > linux.SignalMaximum {
			return fmt.Errorf("bad run request: ignored signal %d", sig)
		}
	}
	if err := validateParent(m.Parent); err != nil {
		return fmt.Errorf("bad run request: %w", err)
	}
	return nil
}

// forwardable reports whether a launcher may send sig to its program:
// a valid signal other than SIGKILL (a launcher forwards what a user
// sends a foreground job; it never kills outright).
func forwardable(sig int) bool {
	return sig > 0 && sig <= linux.SignalMaximum && sig != int(unix.SIGKILL)
}
