package node

import (
	"testing"
	"time"
)

// The loss of a node ends the drains that wait for it, and only those.
func TestDrainsEndWithTheirNode(t *testing.T) {
	var d drains
	lost, cancelLost := d.start("n2", time.Hour)
	defer cancelLost()
	kept, cancelKept := d.start("n3", time.Hour)
	d.cancelNode("n2")
	select {
	case <-lost.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the drain waiting for the lost node goes on")
	}
	if kept.Err() != nil {
		t.Fatalf("the drain waiting for another node ended: %v", kept.Err())
	}
	cancelKept()
	if kept.Err() == nil || len(d.byKey) != 1 {
		t.Fatalf("after its cancel: err %v, %d drains left (want the lost one's, not yet cancelled by its owner)", kept.Err(), len(d.byKey))
	}
}
