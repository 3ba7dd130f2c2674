package sentry

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcStatus is the kernel's /proc/<tid>/status of a task, by field name
// ("Tgid", "Uid", "SigIgn", ...), each value with its spaces trimmed.
// The sentry reads it where ptrace has no request for the answer: thread
// group, signal dispositions, credentials.
type ProcStatus map[string]string

// ReadProcStatus reads /proc/tid/status.
func ReadProcStatus(tid int) (ProcStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return nil, err
	}
	st := ProcStatus{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st, nil
}

// Int is a decimal field (Tgid, PPid, Threads ...), 0 if absent.
func (st ProcStatus) Int(key string) int {
	n, _ := strconv.Atoi(st[key])
	return n
}

// Mask is a hexadecimal signal mask field (SigIgn, SigCgt, SigBlk ...).
func (st ProcStatus) Mask(key string) (uint64, error) {
	return strconv.ParseUint(st[key], 16, 64)
}

// IDs are the real, effective and saved ids of the Uid or Gid field.
func (st ProcStatus) IDs(key string) ([3]uint32, error) {
	var ids [3]uint32
	f := strings.Fields(st[key])
	if len(f) < 3 {
		return ids, fmt.Errorf("/proc status %s: %q", key, st[key])
	}
	for i := range ids {
		v, err := strconv.ParseUint(f[i], 10, 32)
		if err != nil {
			return ids, fmt.Errorf("/proc status %s: %w", key, err)
		}
		ids[i] = uint32(v)
	}
	return ids, nil
}
