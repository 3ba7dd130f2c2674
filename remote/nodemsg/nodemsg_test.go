package nodemsg

import (
	"encoding/json"
	"testing"

	"herd/procview"
	"herd/remote"
)

func TestDescriptors(t *testing.T) {
	for m, want := range map[interface{ Type() remote.MsgType }]string{Forward: "forward", Procs: "procs", Status: "status",
		PeerEvents: "peer-events", Group: "peer-group", All: "peer-all", Signal: "signal", Kill: "kill"} {
		if got := m.Type().String(); got != want {
			t.Errorf("message %d is named %q, want %q", m.Type(), got, want)
		}
	}
}

// TestWireCompatible checks that the payloads keep the JSON of the types
// they replace in remote, so nodes of either build understand each other.
// TestWireCompatible pins the JSON of the answers: nodes of one cluster
// may run builds from either side of a change.
func TestWireCompatible(t *testing.T) {
	row := procview.Row{PID: 4097, PPID: 4096, Node: "n1", Stat: "Ss", Cmd: "sh", CPU: 7}
	for _, c := range []struct {
		v    any
		want string
	}{
		{ProcsResponse{Node: "n1", Procs: []procview.Row{row}}, `{"node":"n1","procs":[` + rowJSON(t, row) + `]}`},
		{NodeStatus{Node: "n1", Load: [3]float64{1, 2, 3}, Procs: 4}, `{"node":"n1","load":[1,2,3],"procs":4}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T encodes as %s (%v), want %s", c.v, b, err, c.want)
		}
	}
}

func rowJSON(t *testing.T, r procview.Row) string {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
