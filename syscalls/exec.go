package syscalls

import (
	"herd/procview"
	"herd/sentry"
)

// Execed implements sentry.Hooks: execve runs natively, then the process
// model learns the new command (for ps) and, from the same /proc status
// read, the credentials a set-uid or set-gid program changed at exec.
func (k *Kernel) Execed(t *sentry.Task) {
	var comm string
	st, err := procview.ReadStatus(t.TID)
	if err == nil {
		comm = st.Name
	}
	args, _ := procview.ReadCommand(t.TID)
	if err := k.procs.Exec(t.TGID, comm, args); err != nil {
		k.log.Debug("record exec", "pid", t.TGID, "err", err)
	}
	if st != nil {
		k.recordCreds(t.TGID, credsOf(st))
	}
}
