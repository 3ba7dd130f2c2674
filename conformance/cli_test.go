package conformance

// Tests of the herd CLI's own answers: unknown commands and flags, the
// version, and the flags of herd node and herd cluster down. None needs
// root.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// herdCLI runs the herd binary with args and env, without the caller's
// HERD_SOCKET and HERD_JOIN_TOKEN.
func herdCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	bin, err := herdBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERD_SOCKET=") && !strings.HasPrefix(kv, "HERD_JOIN_TOKEN=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return runStatus(t, cmd)
}

// runStatus runs cmd and returns its stdout, stderr and exit status; a
// command that could not be run fails the test.
func runStatus(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return o.String(), e.String(), status
}

// An unknown command is named on stderr with a hint; status 2.
func TestCLIUnknownCommand(t *testing.T) {
	out, errOut, st := herdCLI(t, nil, "frobnicate")
	if st != 2 || out != "" || !strings.Contains(errOut, `herd: unknown command "frobnicate"`) ||
		!strings.Contains(errOut, "herd --help") {
		t.Errorf("herd frobnicate: status %d, stdout %q, stderr %q; want 2, nothing, the command named and a hint", st, out, errOut)
	}
}

// An unknown or missing flag: one error on stderr, written as the user
// wrote it, a usage hint, nothing on stdout; status 2.
func TestCLIUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		want, cmd    string
		mentionsOnce string
	}{
		{[]string{"run", "--bogus", "--", "/bin/true"}, "--bogus", "herd run", "bogus"},
		{[]string{"cluster", "down"}, "missing --dir", "herd cluster down", "--dir"},
		{[]string{"cluster", "up", "--nodes", "x", "--dir", "/nonexistent"}, "--nodes", "herd cluster up", "nodes"},
	} {
		out, errOut, st := herdCLI(t, nil, tc.args...)
		if st != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, tc.mentionsOnce) != 1 ||
			!strings.Contains(errOut, tc.cmd+" --help") {
			t.Errorf("herd %q: status %d, stdout %q, stderr %q; want 2, nothing, one error with %q and a hint",
				tc.args, st, out, errOut, tc.want)
		}
	}
}

func TestCLIVersion(t *testing.T) {
	out, _, st := herdCLI(t, nil, "--version")
	if st != 0 || !strings.HasPrefix(out, "herd version ") {
		t.Errorf("herd --version: status %d, %q", st, out)
	}
}

// A join token is never taken from the command line, where ps shows it
// to every user; --join without a token says where to put it.
func TestCLINodeToken(t *testing.T) {
	base := []string{"node", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--join", "127.0.0.1:1"}
	_, errOut, st := herdCLI(t, nil, append(base, "--token", "herd1.secret")...)
	if st != 2 || !strings.Contains(errOut, "--token-file") || !strings.Contains(errOut, "HERD_JOIN_TOKEN") {
		t.Errorf("herd node --token: status %d, %q; want 2 and the safe ways", st, errOut)
	}
	_, errOut, st = herdCLI(t, nil, base...)
	if st != 2 || !strings.Contains(errOut, "--token-file") {
		t.Errorf("herd node --join without a token: status %d, %q", st, errOut)
	}
	empty := filepath.Join(t.TempDir(), "token")
	os.WriteFile(empty, nil, 0o600)
	_, errOut, st = herdCLI(t, nil, append(base, "--token-file", empty)...)
	if st != 2 || !strings.Contains(errOut, "empty") {
		t.Errorf("herd node --token-file EMPTY: status %d, %q", st, errOut)
	}
}

// herd node --help shows the flags users may give, and no internal one.
func TestCLINodeHelp(t *testing.T) {
	out, _, st := herdCLI(t, nil, "node", "--help")
	for _, f := range []string{"--token-file", "--election-timeout", "--suspect-after", "--down-after", "--voters"} {
		if !strings.Contains(out, f) {
			t.Errorf("herd node --help does not show %s", f)
		}
	}
	for _, f := range []string{"--pid1", "--token "} {
		if strings.Contains(out, f) {
			t.Errorf("herd node --help shows %q", f)
		}
	}
	if st != 0 {
		t.Errorf("herd node --help: status %d", st)
	}
}

// herd cluster down of a directory that holds no cluster fails and says
// why.
func TestCLIClusterDownMissing(t *testing.T) {
	for _, dir := range []string{"/nonexistent/herd-cluster", t.TempDir()} {
		_, errOut, st := herdCLI(t, nil, "cluster", "down", "--dir", dir)
		if st == 0 || !strings.Contains(errOut, dir) {
			t.Errorf("herd cluster down --dir %s: status %d, %q; want a failure naming the directory", dir, st, errOut)
		}
	}
}
