package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"herd/pidspace"
	"herd/procview"
	"herd/raftstate"
	"herd/remote/nodemsg"
)

var testMembers = []raftstate.Member{
	{ID: "n2", Address: "a2", State: raftstate.StateUp},
	{ID: "n1", Address: "a1", State: raftstate.StateUp},
	{ID: "n3", Address: "a3", State: raftstate.StateDown},
}

// The process tables of every node are merged and sorted by PID; a node
// that fails is named in the errors and the others are still listed.
func TestGatherProcs(t *testing.T) {
	tables := map[string][]procview.Row{
		"n1": {{PID: 5, Node: "n1"}, {PID: 1000, Node: "n1"}},
		"n2": {{PID: 7, Node: "n2"}, {PID: 3, Node: "n2"}},
	}
	procsOf := func(ctx context.Context, m raftstate.Member) ([]procview.Row, error) {
		if ps, ok := tables[m.ID]; ok {
			return ps, nil
		}
		return nil, errors.New("unreachable")
	}
	all, errs := gatherProcs(context.Background(), testMembers, "", procsOf)
	var pids []int
	for _, p := range all {
		pids = append(pids, p.PID)
	}
	if !slices.Equal(pids, []int{3, 5, 7, 1000}) || !slices.Equal(errs, []string{"n3: unreachable"}) {
		t.Errorf("gatherProcs: PIDs %v, errors %q; want 3 5 7 1000 and n3's error", pids, errs)
	}
	only, errs := gatherProcs(context.Background(), testMembers, "n2", procsOf)
	if len(only) != 2 || only[0].PID != 3 || len(errs) != 0 {
		t.Errorf("gatherProcs of n2: %+v %q", only, errs)
	}
}

// A row per member, sorted by id, with roles from the Raft
// configuration, leases from the replica, and load only from nodes that
// are not down and answer.
func TestGatherRows(t *testing.T) {
	r := roster{
		servers: []raft.Server{{ID: "n1", Suffrage: raft.Voter}, {ID: "n2", Suffrage: raft.Voter}, {ID: "n3", Suffrage: raft.Nonvoter}},
		leader:  "n2",
		leases:  []raftstate.Lease{{Node: "n1", Block: pidspace.Block{Start: 300, Len: 100}}},
	}
	var mu sync.Mutex // statusOf runs once per member, concurrently
	asked := map[string]bool{}
	statusOf := func(ctx context.Context, m raftstate.Member) (*nodemsg.NodeStatus, error) {
		mu.Lock()
		asked[m.ID] = true
		mu.Unlock()
		if m.ID == "n2" {
			return nil, errors.New("timeout")
		}
		return &nodemsg.NodeStatus{Node: m.ID, Procs: 4, Load: [3]float64{0.5}}, nil
	}
	rows, errs := gatherRows(context.Background(), testMembers, r, statusOf)
	if len(rows) != 3 || rows[0].ID != "n1" || rows[1].ID != "n2" || rows[2].ID != "n3" {
		t.Fatalf("rows %+v, want n1 n2 n3", rows)
	}
	if rows[0].Role != "voter" || rows[1].Role != "leader" || rows[2].Role != "non-voter" {
		t.Errorf("roles %s %s %s, want voter leader non-voter", rows[0].Role, rows[1].Role, rows[2].Role)
	}
	if !slices.Equal(rows[0].PIDBlocks, [][2]int{{300, 400}}) || rows[1].PIDBlocks == nil || len(rows[1].PIDBlocks) != 0 {
		t.Errorf("PID blocks %v %v, want [300,400) and none", rows[0].PIDBlocks, rows[1].PIDBlocks)
	}
	if rows[0].Procs == nil || *rows[0].Procs != 4 || rows[0].Load[0] != 0.5 {
		t.Errorf("n1's load missing: %+v", rows[0])
	}
	if rows[1].Procs != nil || rows[2].Procs != nil || asked["n3"] {
		t.Errorf("load of a node that failed or is down: %+v %+v (n3 asked: %v)", rows[1], rows[2], asked["n3"])
	}
	if !slices.Equal(errs, []string{"n2: timeout"}) {
		t.Errorf("errors %q, want n2's", errs)
	}
}

// status counts the processes that procs lists, without listing them.
func TestProcCount(t *testing.T) {
	procs := []pidspace.Process{
		{PID: pidspace.InitPID, Virtual: true},
		{PID: 7, Virtual: true, State: pidspace.Running},
		{PID: 9, Virtual: true, State: pidspace.Zombie},
	}
	rows := procview.Proc.Rows("n1", procs)
	if got := procCount(procs); got != len(rows) || got != 2 {
		t.Fatalf("procCount = %d, Rows lists %d, want 2", got, len(rows))
	}
}
