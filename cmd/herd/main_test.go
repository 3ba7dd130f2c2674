package main

import "testing"

func TestFlagMessage(t *testing.T) {
	for in, want := range map[string]string{
		"flag provided but not defined: -bogus":          "unknown flag --bogus",
		"flag provided but not defined: -x":              "unknown flag -x",
		"flag needs an argument: -socket":                "flag needs an argument: --socket",
		`invalid value "x" for flag -nodes: parse error`: `invalid value "x" for flag --nodes: parse error`,
	} {
		if got := flagMessage(in); got != want {
			t.Errorf("flagMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/c/n1/herd.sock": "/tmp/c/n1/herd.sock",
		"/tmp/a b/herd.sock":  "'/tmp/a b/herd.sock'",
		"/tmp/it's":           `'/tmp/it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
