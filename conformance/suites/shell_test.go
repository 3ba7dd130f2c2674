package suites

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// prints in its job reports are normalised), in every herd mode; spread
// mode skips the scripts a NAME.spread-skip excuses, with its reason.
// NAME.sh scripts are POSIX and run under busybox sh and bash; NAME.bash
// scripts run under bash only.
func TestShell(t *testing.T) {
	requireRoot(t)
	scripts := testdata(t, "shell", "*")
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
		known, err := loadKnownDiff(strings.TrimSuffix(script, ext) + ".known-diff")
		if err != nil {
			t.Fatal(err)
		}
		spreadSkip, err := loadSpreadSkip(strings.TrimSuffix(script, ext) + ".spread-skip")
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for _, sh := range shells {
				if ext == ".bash" && sh.name != "bash" {
					continue
				}
				t.Run(sh.name, func(t *testing.T) {
					prog := requireProgram(t, sh.prog, sh.pkg)
					argv := append(append([]string{prog}, sh.args...), abs)
					nat := run(t, native, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
					forModes(t, allModes, func(t *testing.T, m mode) {
						if m.name == spread.name && spreadSkip != "" {
							t.Skipf("accepted in spread mode (%s.spread-skip): %s", name, spreadSkip)
						}
						hrd := run(t, m, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
						if known != nil {
							known.check(t, nat, hrd)
							return
						}
						compareOutputs(t, nat, hrd, normalisePIDs)
					})
				})
			}
		})
	}
}

// loadSpreadSkip reads NAME.spread-skip, a script that spread mode skips
// because of a herd limitation: "reason: " and why, with a reproduction.
// No file: "".
func loadSpreadSkip(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	reason, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "reason:")
	if !ok || strings.TrimSpace(reason) == "" {
		return "", fmt.Errorf("%s: want \"reason: WHY\"", path)
	}
	return strings.TrimSpace(reason), nil
}

// A knownDiff is a documented difference between herd and the kernel that
// a later piece of herd removes (NAME.known-diff next to the script):
//
//	reason: why, and what removes it
//	- a native stdout line
//	+ the herd stdout line that replaces it
//
// The test skips with the reason when herd's output is exactly native's
// with those substitutions, so the difference stays visible in every run;
// any other difference fails, and so does a known-diff that is no longer
// needed (herd matches native: delete the file).
type knownDiff struct {
	reason string
	from   map[string]string // native line -> herd line
}

func loadKnownDiff(path string) (*knownDiff, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k := &knownDiff{from: map[string]string{}}
	var pending []string
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "reason:"):
			k.reason = strings.TrimSpace(strings.TrimPrefix(line, "reason:"))
		case strings.HasPrefix(line, "- "):
			pending = append(pending, line[2:])
		case strings.HasPrefix(line, "+ "):
			if len(pending) == 0 {
				return nil, fmt.Errorf("%s:%d: '+' line without a '-' line before it", path, i+1)
			}
			k.from[pending[0]] = line[2:]
			pending = pending[1:]
		}
	}
	if k.reason == "" || len(k.from) == 0 || len(pending) > 0 {
		return nil, fmt.Errorf("%s: needs a reason and matched '-'/'+' lines", path)
	}
	return k, nil
}

func (k *knownDiff) check(t *testing.T, nat, hrd *result) {
	t.Helper()
	if nat.failure != "" || hrd.failure != "" || nat.status != hrd.status || nat.stderr != hrd.stderr {
		compareOutputs(t, nat, hrd, normalisePIDs)
		return
	}
	if normalisePIDs(nat.stdout) == normalisePIDs(hrd.stdout) {
		t.Fatal("herd now matches native: delete the .known-diff file")
	}
	lines := strings.Split(nat.stdout, "\n")
	for i, l := range lines {
		if h, ok := k.from[l]; ok {
			lines[i] = h
		}
	}
	if want := strings.Join(lines, "\n"); normalisePIDs(want) != normalisePIDs(hrd.stdout) {
		t.Errorf("herd differs from native beyond the known difference (%s):\n%s", k.reason, lineDiff(normalisePIDs(want), normalisePIDs(hrd.stdout)))
		return
	}
	t.Skipf("known difference: %s", k.reason)
}
