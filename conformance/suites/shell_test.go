package suites

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// A shell is an interpreter the scripts run under.
type shell struct {
	name string   // subtest name
	prog string   // program looked up in PATH
	pkg  string   // Debian package providing it
	args []string // before the script
}

var shells = []shell{
	{name: "busybox", prog: "busybox", pkg: "busybox-static", args: []string{"sh"}},
	{name: "bash", prog: "bash", pkg: "bash"},
}

// TestShell runs each script in testdata/shell natively and under herd and
// requires identical stdout, stderr and exit status (PIDs that a shell
// prints in its job reports are normalised). NAME.sh scripts are POSIX and
// run under busybox sh and bash; NAME.bash scripts run under bash only.
func TestShell(t *testing.T) {
	requireRoot(t)
	scripts, err := filepath.Glob(filepath.Join("testdata", "shell", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(scripts)
	if len(scripts) == 0 {
		t.Fatal("no scripts in testdata/shell")
	}
	for _, script := range scripts {
		ext := filepath.Ext(script)
		if ext != ".sh" && ext != ".bash" {
			continue
		}
		abs, err := filepath.Abs(script)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(script), ext)
		t.Run(name, func(t *testing.T) {
			for _, sh := range shells {
				if ext == ".bash" && sh.name != "bash" {
					continue
				}
				t.Run(sh.name, func(t *testing.T) {
					prog := requireProgram(t, sh.prog, sh.pkg)
					argv := append(append([]string{prog}, sh.args...), abs)
					nat := run(t, native, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
					hrd := run(t, underHerd, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
					compareOutputs(t, nat, hrd, normalisePIDs)
				})
			}
		})
	}
}
