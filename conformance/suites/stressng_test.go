package suites

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A stressor is one stress-ng stressor run with --verify.
type stressor struct {
	name string
	ops  int
	args []string // extra stress-ng options
	// asNobody runs stress-ng as uid/gid 65534 through setpriv: the exec
	// stressor refuses to run as root.
	asNobody bool
}

// stressors are the process, wait and signal stressors. Each is bounded by
// an operation count (so a run takes about a second natively) and by
// stress-ng's own --timeout as a backstop; neither decides pass or fail.
var stressors = []stressor{
	{name: "fork", ops: 1000},
	{name: "vfork", ops: 2000},
	{name: "clone", ops: 100},
	{name: "exec", ops: 100, args: []string{"--exec-max", "8"}, asNobody: true},
	{name: "wait", ops: 1000},
	{name: "kill", ops: 2000},
	{name: "sigchld", ops: 1000},
	{name: "sigq", ops: 2000},
	{name: "sigsuspend", ops: 2000},
	{name: "pthread", ops: 1000},
}

// stressFailure matches stress-ng's reports of a failed stressor or a
// failed verification.
var stressFailure = regexp.MustCompile(`(?i)fail|verif|error:|skipping|not implemented|no stress workers`)

// TestStressNG runs each stressor with --verify natively and under herd.
// Pass: exit 0 both ways, the stressor's metrics line present, and no
// failure, verification error or skip in the output.
//
// Natively stress-ng runs as is, in its own process group; under herd it is
// in herd's PID namespace, so whatever it signals cannot reach the test.
func TestStressNG(t *testing.T) {
	requireRoot(t)
	bin := requireProgram(t, "stress-ng", "stress-ng")
	for _, st := range stressors {
		t.Run(st.name, func(t *testing.T) {
			// Workers may run as nobody and create temp files here, so
			// not under t.TempDir, whose parent is private to root.
			dir, err := os.MkdirTemp("", "herd-stress-ng-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			argv := []string{bin,
				"--" + st.name, "2",
				fmt.Sprintf("--%s-ops", st.name), fmt.Sprint(st.ops),
				"--timeout", "30s",
				"--verify", "--metrics-brief", "--no-rand-seed",
				"--temp-path", dir,
			}
			argv = append(argv, st.args...)
			if st.asNobody {
				setpriv := requireProgram(t, "setpriv", "util-linux")
				argv = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
			}
			s := spec{argv: argv, dir: dir, timeout: 90 * time.Second}
			nat := run(t, native, s)
			if msg := stressVerdict(st.name, nat); msg != "" {
				t.Fatalf("native stress-ng %s fails, so it cannot be an oracle: %s", st.name, msg)
			}
			forModes(t, allModes, func(t *testing.T, m mode) {
				hrd := run(t, m, s)
				if msg := stressVerdict(st.name, hrd); msg != "" {
					t.Errorf("stress-ng %s passes natively but fails under herd %s: %s", st.name, m, msg)
				}
			})
		})
	}
}

// stressVerdict explains why a stress-ng run failed, or returns "".
func stressVerdict(name string, r *result) string {
	out := r.stdout + r.stderr
	var why []string
	if r.failure != "" {
		why = append(why, r.failure)
	} else if r.status != 0 {
		why = append(why, fmt.Sprintf("exit status %d", r.status))
	}
	for _, line := range strings.Split(out, "\n") {
		if stressFailure.MatchString(line) {
			why = append(why, "reported: "+strings.TrimSpace(line))
		}
	}
	metrics := regexp.MustCompile(`metrc: \[\d+\] ` + regexp.QuoteMeta(name) + `\s+[1-9]\d*\s`)
	if r.failure == "" && !metrics.MatchString(out) {
		why = append(why, "no metrics line with a non-zero bogo-op count for "+name)
	}
	if len(why) == 0 {
		return ""
	}
	return strings.Join(why, "; ") + "\noutput:\n" + indent(tail(out, 40))
}
