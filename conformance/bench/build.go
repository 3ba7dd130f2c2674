package main

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sources holds the benchmark programs. Each takes an iteration count and
// prints the elapsed nanoseconds of its timed loop; tracer.c and notif.c
// instead run another program under a minimal supervisor (a ptrace seccomp
// stop, a seccomp user notification).
//
//go:embed c/*.c c/*.h
var sources embed.FS

// programNames lists the C programs, in the order they are built.
func programNames() ([]string, error) {
	files, err := fs.Glob(sources, "c/*.c")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".c"))
	}
	return names, nil
}

// buildPrograms writes the embedded sources to dir and compiles each with
// gcc -O2, returning the path of each executable by program name.
func buildPrograms(dir string) (map[string]string, error) {
	if _, err := exec.LookPath("gcc"); err != nil {
		return nil, fmt.Errorf("gcc is needed to build the benchmark programs: %w", err)
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, err
	}
	files, err := fs.Glob(sources, "c/*")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := sources.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(src, filepath.Base(f)), data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", f, err)
		}
	}
	names, err := programNames()
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, name := range names {
		out := filepath.Join(dir, name)
		cmd := exec.Command("gcc", "-O2", "-Wall", "-Werror", "-o", out, filepath.Join(src, name+".c"))
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("compile %s.c: %w\n%s", name, err, msg)
		}
		bins[name] = out
	}
	return bins, nil
}
