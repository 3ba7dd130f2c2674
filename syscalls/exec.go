package syscalls

import (
	"fmt"
	"os"
	"strings"

	"herd/sentry"
)

// Execed implements sentry.Hooks: execve runs natively, then the process
// model learns the new command (for ps) and, from the same /proc status
// read, the credentials a set-uid or set-gid program changed at exec.
func (k *Kernel) Execed(t *sentry.Task) {
	var comm, args string
	st, err := sentry.ReadProcStatus(t.TID)
	if err == nil {
		comm = st["Name"]
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", t.TID)); err == nil {
		args = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	if err := k.procs.Exec(t.TGID, comm, args); err != nil {
		k.log.Debug("record exec", "pid", t.TGID, "err", err)
	}
	if st != nil {
		if c, err := credsOf(st); err == nil {
			k.recordCreds(t.TGID, c)
		}
	}
}
