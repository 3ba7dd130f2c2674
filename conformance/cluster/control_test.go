package cluster

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"herd/remote"
)

// A 3-node cluster: every node is a member with disjoint PID leases; herd
// run through each node runs the program there, as the caller, with the
// same exit statuses as the embedded node; herd ps lists the processes of
// every node with the node that homes each.
func TestThreeNodes(t *testing.T) {
	c := upCluster(t, 3, 3)
	rows := c.nodes(1)
	if len(rows) != 3 {
		t.Fatalf("herd nodes lists %d nodes, want 3: %+v", len(rows), rows)
	}
	voters := 0
	for _, r := range rows {
		if r.State != "up" || r.CPUs == 0 || r.Memory == 0 || r.Load == nil || r.Procs == nil {
			t.Errorf("node row %+v: want up, with resources and load", r)
		}
		if r.Role == "leader" || r.Role == "voter" {
			voters++
		}
	}
	if voters != 3 || leaderOf(rows) == "" {
		t.Errorf("roles: want a leader and 3 voters in %+v", rows)
	}

	// One long-running program through each node.
	homes := map[int]string{}
	for i := 1; i <= 3; i++ {
		pid := c.startBackground(i, "/bin/sh", "-c", "echo $$; exec sleep 1000")
		homes[pid] = "n" + strconv.Itoa(i)
	}
	// A follower's replica may trail the leader's by a heartbeat.
	var ls map[string][][2]int
	waitFor(t, 10*time.Second, "n2's replica to show every PID's lease", func() bool {
		ls = leases(c.nodes(2))
		for pid, node := range homes {
			if !inBlocks(pid, ls[node]) {
				return false
			}
		}
		return true
	})
	checkDisjoint(t, ls)
	for via := 1; via <= 3; via++ {
		seen := map[int]string{}
		for _, p := range c.ps(via) {
			seen[p.PID] = p.Node
			if _, ok := homes[p.PID]; ok && (!strings.Contains(p.Cmd, "sleep 1000") || p.UID != 0) {
				t.Errorf("ps via n%d: %+v: want sleep 1000 as root", via, p)
			}
		}
		for pid, node := range homes {
			if seen[pid] != node {
				t.Errorf("ps via n%d: PID %d on %q, want %s", via, pid, seen[pid], node)
			}
		}
	}
	for _, p := range c.ps(1, "--node", "n2") {
		if p.Node != "n2" {
			t.Errorf("ps --node n2 lists %+v", p)
		}
	}
	if got := c.ps(1, "-u", "nobody"); len(got) != 0 {
		t.Errorf("ps -u nobody lists %+v", got)
	}
	if out, _, st := herd(t, c.sock(1), "ps"); st != 0 || !strings.HasPrefix(out, "PID") ||
		!strings.Contains(strings.Fields(out)[8], "CMD") {
		t.Errorf("herd ps table header: %q", out)
	}

	// Exit statuses, as with the embedded node.
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"/bin/sh", "-c", "exit 7"}, 7},
		{[]string{"/bin/sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"/nonexistent/prog"}, 127},
		{[]string{"/bin/true"}, 0},
	} {
		if _, errOut, st := herd(t, c.sock(2), append([]string{"run", "--"}, tc.args...)...); st != tc.want {
			t.Errorf("herd run %v via n2: status %d, want %d (%s)", tc.args, st, tc.want, errOut)
		}
	}

	// The caller's identity comes from the socket: uid, gid and groups.
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--groups=27,100",
		herdBin, "run", "--", "/bin/sh", "-c", "id -u; id -g; id -G")
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(3))
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("herd run as nobody: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "65534 65534 65534 27 100" {
		t.Errorf("herd run as nobody with groups 27,100: id prints %q", out)
	}
	// Removing a node is for root only.
	cmd = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", herdBin, "nodes", "remove", "n3")
	cmd.Env = append(os.Environ(), "HERD_SOCKET="+c.sock(1))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "root") {
		t.Errorf("herd nodes remove as nobody: %v %s", err, out)
	}
}

// Peers without the cluster's credentials are refused with a logged
// reason, and the cluster carries on: a wrong join token, a token of
// another CA, a certificate of another CA, a client without a certificate
// asking for RPC, and garbage frames from a real member.
func TestRefusals(t *testing.T) {
	c := upCluster(t, 3, 3)
	addr := c.addr(1)
	token, err := os.ReadFile(filepath.Join(c.node(1), "join-token"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := remote.ParseToken(strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := good
	wrongSecret.Secret = append([]byte(nil), good.Secret...)
	wrongSecret.Secret[0] ^= 0xff
	foreignCA, err := remote.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	wrongCA := good
	wrongCA.CAFingerprint = foreignCA.Fingerprint()

	for _, tc := range []struct{ name, token, want string }{
		{"wrong secret", wrongSecret.String(), "unknown or invalid"},
		{"other CA", wrongCA.String(), "fingerprint"},
		{"malformed", "herd1.nonsense", "malformed"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, herdBin, "node", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
			"--socket", filepath.Join(t.TempDir(), "s.sock"), "--name", "intruder", "--join", addr)
		// The token never goes on a command line: one case through
		// --token-file, the others through the environment.
		if tc.name == "wrong secret" {
			file := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(file, []byte(tc.token+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd.Args = append(cmd.Args, "--token-file", file)
		} else {
			cmd.Env = append(os.Environ(), "HERD_JOIN_TOKEN="+tc.token)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("join with %s token: %v, want a refusal mentioning %q:\n%s", tc.name, err, tc.want, out)
		}
	}

	// A certificate from another CA, and no certificate at all.
	foreign, err := foreignCA.Issue("n9", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := remote.Dial(ctx, addr, foreign, remote.ServiceRPC); err == nil {
		// TLS 1.3 reports a refused client certificate on first read.
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Error("a certificate of another CA was accepted for RPC")
		}
		conn.Close()
	}
	own, err := remote.LoadCredentials(filepath.Join(c.node(2), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	noCert := own.ClientTLS(addr)
	noCert.Certificates = nil
	if conn, err := tls.Dial("tcp", addr, noCert); err == nil {
		conn.Write([]byte{remote.ServiceRPC})
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Error("an RPC connection without a certificate was served")
		}
		conn.Close()
	}
	// Garbage from a member: the connection is dropped.
	conn, err := remote.Dial(ctx, addr, own, remote.ServiceRPC)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("GET / HTTP/1.1\r\n\r\n and more garbage"))
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("garbage frame answered")
	}
	conn.Close()

	waitFor(t, 10*time.Second, "the refusals in n1's log", func() bool {
		log, _ := os.ReadFile(filepath.Join(c.node(1), "node.log"))
		s := string(log)
		return strings.Contains(s, "refused connection") && strings.Contains(s, "dropping connection") &&
			strings.Contains(s, "no client certificate")
	})
	// The cluster carries on.
	if rows := c.nodes(1); len(rows) != 3 {
		t.Errorf("after the refusals herd nodes lists %+v", rows)
	}
	c.pidOf(1)
}

// kill -9 of the leader: a new leader is elected, the leases stay as they
// were, herd run keeps working on the survivors, and the dead node becomes
// suspect, then down.
func TestLeaderKilled(t *testing.T) {
	c := upCluster(t, 3, 3)
	for i := 1; i <= 3; i++ {
		c.pidOf(i) // every node holds a lease
	}
	before := c.nodes(1)
	old := leaderOf(before)
	dead := c.index(old)
	survivor := dead%3 + 1
	c.kill9(dead)

	var rows []nodeRow
	waitFor(t, 30*time.Second, "a new leader and "+old+" down", func() bool {
		var ok bool
		rows, ok = c.tryNodes(survivor)
		if !ok {
			return false
		}
		l := leaderOf(rows)
		for _, r := range rows {
			if r.ID == old && r.State == "down" && l != "" && l != old {
				return true
			}
		}
		return false
	})
	want, got := leases(before), leases(rows)
	for id, bs := range want {
		if !slices.Equal(got[id], bs) && id == old {
			t.Errorf("leases of the dead leader changed: %v → %v", bs, got[id])
		}
		for _, b := range bs {
			if !slices.Contains(got[id], b) {
				t.Errorf("lease %v of %s lost after the leader died (now %v)", b, id, got[id])
			}
		}
	}
	checkDisjoint(t, got)
	for i := 1; i <= 3; i++ {
		if i == dead {
			continue
		}
		pid := c.pidOf(i)
		if ls := leases(c.nodes(i)); !inBlocks(pid, ls["n"+strconv.Itoa(i)]) {
			t.Errorf("PID %d from n%d outside its leases %v", pid, i, ls)
		}
	}
}

// Stop every node and start them again: the same members and leases, and
// new processes get PIDs from their own node's leases only.
func TestRestartAll(t *testing.T) {
	c := upCluster(t, 3, 3)
	for i := 1; i <= 3; i++ {
		c.pidOf(i)
	}
	var before []nodeRow
	waitFor(t, 10*time.Second, "n1's replica to show every node's lease", func() bool {
		before = c.nodes(1)
		for _, r := range before {
			if len(r.PIDBlocks) == 0 {
				return false
			}
		}
		return true
	})
	c.down()
	c.up(3)
	var after []nodeRow
	waitFor(t, 30*time.Second, "every node up after the restart", func() bool {
		rows, ok := c.tryNodes(1)
		if !ok || len(rows) != 3 || leaderOf(rows) == "" {
			return false
		}
		for _, r := range rows {
			if r.State != "up" {
				return false
			}
		}
		after = rows
		return true
	})
	for i, b := range before {
		a := after[i]
		if a.ID != b.ID || a.Address != b.Address || !slices.Equal(a.PIDBlocks, b.PIDBlocks) {
			t.Errorf("after restart %+v, before %+v", a, b)
		}
		if (a.Role == "non-voter") != (b.Role == "non-voter") {
			t.Errorf("%s: role %s after restart, %s before", a.ID, a.Role, b.Role)
		}
	}
	seen := map[int]int{}
	for round := 0; round < 2; round++ {
		for i := 1; i <= 3; i++ {
			pid := c.pidOf(i)
			if !inBlocks(pid, leases(after)["n"+strconv.Itoa(i)]) {
				t.Errorf("PID %d from n%d outside its leases", pid, i)
			}
			if j, dup := seen[pid]; dup && j != i {
				t.Errorf("PID %d handed out by n%d and n%d", pid, j, i)
			}
			seen[pid] = i
		}
	}
	checkDisjoint(t, leases(c.nodes(2)))
}

// Five nodes, three voters: removing a voter promotes a non-voter.
func TestPromotion(t *testing.T) {
	c := upCluster(t, 5, 3)
	rows := c.nodes(1)
	var voters, nonvoters []string
	for _, r := range rows {
		switch r.Role {
		case "leader", "voter":
			voters = append(voters, r.ID)
		case "non-voter":
			nonvoters = append(nonvoters, r.ID)
		}
	}
	if len(voters) != 3 || len(nonvoters) != 2 {
		t.Fatalf("roles %+v: want 3 voters and 2 non-voters", rows)
	}
	var victim string
	leader := leaderOf(rows)
	for _, v := range voters {
		if v != leader {
			victim = v
			break
		}
	}
	asker := c.index(leader)
	if _, errOut, st := herd(t, c.sock(asker), "nodes", "remove", victim); st != 0 {
		t.Fatalf("herd nodes remove %s: status %d: %s", victim, st, errOut)
	}
	waitFor(t, 30*time.Second, "a non-voter promoted in place of "+victim, func() bool {
		rows, ok := c.tryNodes(asker)
		if !ok {
			return false
		}
		voters, promoted := 0, false
		for _, r := range rows {
			if r.ID == victim {
				return false
			}
			if r.Role == "leader" || r.Role == "voter" {
				voters++
				promoted = promoted || slices.Contains(nonvoters, r.ID)
			}
		}
		return voters == 3 && promoted && len(rows) == 4
	})
	// The removed node's daemon is stopped with the rest at cleanup.
}
