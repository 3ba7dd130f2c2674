package sentry

import "testing"

// A parked call's end withdraws the emulation only when it was not
// completed, and releases what it holds however it ends.
func TestParkedEnd(t *testing.T) {
	for _, done := range []bool{false, true} {
		var cancelled, released int
		p := &parked{done: done, cancel: func() { cancelled++ }, release: func() { released++ }}
		p.end()
		if want := map[bool]int{false: 1, true: 0}[done]; cancelled != want {
			t.Errorf("done=%v: cancel ran %d times, want %d", done, cancelled, want)
		}
		if released != 1 {
			t.Errorf("done=%v: release ran %d times, want 1", done, released)
		}
	}
	(&parked{}).end() // neither set: nothing to run
}
