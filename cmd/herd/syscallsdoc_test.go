package main

import (
	"bytes"
	"os"
	"testing"
)

// docs/syscalls.md is generated from the table; this keeps it true.
func TestSyscallsDocIsCurrent(t *testing.T) {
	want, err := os.ReadFile("../../docs/syscalls.md")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	writeSyscallTable(&got, docTable(), true)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("docs/syscalls.md is stale: run `make docs`")
	}
}
