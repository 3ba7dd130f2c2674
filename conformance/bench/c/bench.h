/* Shared by the benchmark programs: each takes an iteration count, runs
 * its loop that many times, and prints the loop's elapsed nanoseconds
 * (CLOCK_MONOTONIC) on one line. Process start and setup are excluded. */
#ifndef HERD_BENCH_H
#define HERD_BENCH_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long count_arg(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	if (n <= 0) {
		fprintf(stderr, "usage: %s COUNT\n", argv[0]);
		exit(2);
	}
	return n;
}

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

static inline void report(long long t0, long long t1)
{
	printf("%lld\n", t1 - t0);
}

#endif
