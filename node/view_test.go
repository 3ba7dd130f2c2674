package node

import (
	"testing"

	"herd/procview"
	"herd/raftstate"
)

// withLast: a member that does not answer shows its last answer, one
// never heard of is left out, and one no longer a member is forgotten.
func TestViewWithLast(t *testing.T) {
	last := map[string]procview.NodeStat{}
	ms := []raftstate.Member{{ID: "n1"}, {ID: "n2"}, {ID: "n3"}}
	st := func(id string, mem uint64) *procview.NodeStat {
		return &procview.NodeStat{Node: id, Mem: map[string]uint64{"MemTotal": mem}}
	}
	names := func(out []procview.NodeStat) (s string) {
		for _, o := range out {
			s += o.Node + " "
		}
		return s
	}
	if got := names(withLast(ms, []*procview.NodeStat{st("n1", 1), nil, st("n3", 3)}, last)); got != "n1 n3 " {
		t.Errorf("first answers: %q", got)
	}
	out := withLast(ms, []*procview.NodeStat{st("n1", 10), st("n2", 2), nil}, last)
	if names(out) != "n1 n2 n3 " || out[0].Mem["MemTotal"] != 10 || out[2].Mem["MemTotal"] != 3 {
		t.Errorf("late n3 keeps its last answer: %+v", out)
	}
	if got := names(withLast(ms[:2], []*procview.NodeStat{nil, nil}, last)); got != "n1 n2 " {
		t.Errorf("n3 down: %q", got)
	}
	if _, ok := last["n3"]; ok {
		t.Error("n3's figures kept after it left the members")
	}
}
