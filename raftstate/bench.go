package raftstate

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// MeasureApplyLatency commits n no-op commands one after another on s (which
// must be the leader) and returns the median and 99th percentile commit
// latency. It is a measurement for `make bench`, not a test: nothing
// asserts on its numbers.
func MeasureApplyLatency(s *Store, n int) (p50, p99 time.Duration, err error) {
	if n <= 0 {
		return 0, 0, fmt.Errorf("measure apply latency: n = %d", n)
	}
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := s.Apply(context.Background(), Nop{}); err != nil {
			return 0, 0, fmt.Errorf("measure apply latency: %w", err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[(n-1)/2], ds[(n*99+99)/100-1], nil
}
