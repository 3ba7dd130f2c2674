package node

import (
	"slices"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	got, err := parseCPUList("0-3, 6,2")
	if err != nil || !slices.Equal(got, []int{0, 1, 2, 3, 6}) {
		t.Errorf("parseCPUList: %v %v", got, err)
	}
	for _, bad := range []string{"", "3-1", "-1", "a", "0-70000"} {
		if _, err := parseCPUList(bad); err == nil {
			t.Errorf("parseCPUList(%q) accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"512": 512, "8G": 8 << 30, "2kb": 2 << 10, " 1T ": 1 << 40} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "G", "-1M", "99999999999T"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	base := Config{DataDir: "/d", Listen: "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"bootstrap", func(c *Config) { c.Bootstrap = true }, true},
		{"restart", func(c *Config) {}, true},
		{"join with token", func(c *Config) { c.Join, c.Token = "h:1", "t" }, true},
		{"join without token", func(c *Config) { c.Join = "h:1" }, false},
		{"both", func(c *Config) { c.Bootstrap, c.Join, c.Token = true, "h:1", "t" }, false},
		{"no data dir", func(c *Config) { c.DataDir = "" }, false},
	} {
		c := base
		tc.edit(&c)
		if err := c.Check(); (err == nil) != tc.ok {
			t.Errorf("%s: Check() = %v", tc.name, err)
		}
	}
}
