package node

import (
	"testing"

	"herd/raftstate"
)

func TestCheckPolicy(t *testing.T) {
	for _, c := range []struct {
		policy string
		ok     bool
	}{
		{"", true}, {"local", true}, {"spread", true}, {"least-loaded", true}, {"node:n3", true},
		{"node:", false}, {"nowhere", false}, {"Spread", false}, {"least_loaded", false},
	} {
		if err := CheckPolicy(c.policy); (err == nil) != c.ok {
			t.Errorf("CheckPolicy(%q) = %v, want ok %v", c.policy, err, c.ok)
		}
	}
}

// least-loaded picks the node with the most idle CPUs, counting a node
// whose load is not known yet as idle, and prefers this node on a tie.
func TestMostIdle(t *testing.T) {
	up := []raftstate.Member{{ID: "n1", CPUs: 8}, {ID: "n2", CPUs: 8}, {ID: "n3", CPUs: 4}}
	for _, c := range []struct {
		idle map[string]float64
		self string
		want string
	}{
		{map[string]float64{"n1": 1.5, "n2": 6.5, "n3": 3.9}, "n1", "n2"},
		{map[string]float64{"n1": 1, "n2": 2}, "n1", "n3"}, // n3 not polled yet: its 4 CPUs
		{map[string]float64{"n1": 3, "n2": 3, "n3": 3}, "n2", "n2"},
		{map[string]float64{"n1": 3, "n2": 3, "n3": 3}, "n9", "n1"},
		{map[string]float64{"n1": -2, "n2": -1, "n3": -3}, "n1", "n2"}, // all overloaded
	} {
		if got := mostIdle(up, c.idle, c.self); got != c.want {
			t.Errorf("mostIdle(%v, self %s) = %s, want %s", c.idle, c.self, got, c.want)
		}
	}
	if got := mostIdle(nil, nil, "n1"); got != "" {
		t.Errorf("no member up: %q, want none", got)
	}
}
