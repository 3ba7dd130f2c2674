package nodemsg

import (
	"encoding/json"
	"testing"

	"herd/procview"
	"herd/remote"
)

func TestDescriptors(t *testing.T) {
	for m, want := range map[interface{ Type() remote.MsgType }]string{Forward: "forward", Procs: "procs", Status: "status"} {
		if got := m.Type().String(); got != want {
			t.Errorf("message %d is named %q, want %q", m.Type(), got, want)
		}
	}
}

// TestWireCompatible checks that the payloads keep the JSON of the types
// they replace in remote, so nodes of either build understand each other.
func TestWireCompatible(t *testing.T) {
	row := procview.Row{PID: 4097, PPID: 4096, Node: "n1", Stat: "Ss", Cmd: "sh", CPU: 7}
	same := func(a, b any) {
		t.Helper()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s\n!= %s", ja, jb)
		}
	}
	same(ProcsResponse{Node: "n1", Procs: []procview.Row{row}}, remote.ProcsResponse{Node: "n1", Procs: []remote.ProcInfo{row}})
	same(NodeStatus{Node: "n1", Load: [3]float64{1, 2, 3}, Procs: 4}, remote.NodeStatus{Node: "n1", Load: [3]float64{1, 2, 3}, Procs: 4})
}
