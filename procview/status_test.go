package procview

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The signal and capability sets of a status are the kernel's hex
// fields, each in its own field.
func TestStatusMasks(t *testing.T) {
	st, err := ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{
		"SigBlk": st.SigBlk, "SigIgn": st.SigIgn, "SigCgt": st.SigCgt,
		"CapInh": st.CapInh, "CapPrm": st.CapPrm, "CapEff": st.CapEff, "CapBnd": st.CapBnd, "CapAmb": st.CapAmb,
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		want, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if g, tracked := got[k]; ok && tracked && err == nil && g != want {
			t.Errorf("%s = %#x, want %#x", k, g, want)
		}
	}
	if st.CapBnd == 0 {
		t.Errorf("CapBnd is 0: the bounding set was not read")
	}
}
