package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herd/node/netns"
)

// DIR/netns keeps a --netns cluster's network for its restarts; a DIR
// without it is a loopback cluster.
func TestNetFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if nt, err := loadNet(dir); nt != nil || err != nil {
		t.Fatalf("loadNet of an empty dir: %v %v", nt, err)
	}
	want := netns.Net{Name: netns.NameFor(dir), Subnet: netip.MustParsePrefix("10.77.9.0/24")}
	if err := writeNet(dir, &want); err != nil {
		t.Fatal(err)
	}
	got, err := loadNet(dir)
	if err != nil || got == nil || *got != want {
		t.Fatalf("loadNet after writeNet: %v %v, want %v", got, err, want)
	}
	lc := &localCluster{dir: dir, n: 2, net: got}
	if a := lc.netAddr(2, 0); a != "10.77.9.2:7700" {
		t.Errorf("n2's address %s, want 10.77.9.2:7700", a)
	}
	if a := lc.netAddr(1, 9000); a != "10.77.9.1:9000" {
		t.Errorf("n1's address with --base-port 9000: %s", a)
	}
	os.WriteFile(filepath.Join(dir, clusterNetFile), []byte("{"), 0o644)
	if _, err := loadNet(dir); err == nil {
		t.Error("a broken DIR/netns is accepted")
	}
}

// --netns on a DIR whose nodes listen on loopback is refused before
// anything is made.
func TestNetnsRefusesLoopbackDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "n1"), 0o755)
	os.WriteFile(filepath.Join(dir, "n1", clusterListenFile), []byte("127.0.0.1:4000\n"), 0o600)
	lc := &localCluster{dir: dir, n: 1}
	err := lc.setupNet(true)
	if err == nil || !strings.Contains(err.Error(), "new --dir") {
		t.Errorf("setupNet(--netns) on a loopback DIR: %v", err)
	}
	if lc.setupNet(false) != nil || lc.net != nil {
		t.Error("a loopback DIR without --netns got a network")
	}
}
