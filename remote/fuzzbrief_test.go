package remote

import (
	"testing"

	"herd/remote/fuzzbrief"
)

// TestFuzzTargetsBriefly runs every fuzz target of the package, in every
// go test, over its seeds and a bounded walk of mutations (see fuzzbrief).
// For a longer, coverage-guided run:
//
//	go test -run='^$' -fuzz='^FuzzFrame$' -fuzztime=1m ./remote
func TestFuzzTargetsBriefly(t *testing.T) { fuzzbrief.Run(t, fuzzTargets) }

// TestEveryFuzzTargetRunsBriefly keeps fuzzTargets complete.
func TestEveryFuzzTargetRunsBriefly(t *testing.T) { fuzzbrief.CheckListed(t, fuzzTargets) }
