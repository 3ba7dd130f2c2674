/* Shared by the across-node benchmark programs: each prints the elapsed
 * nanoseconds (CLOCK_MONOTONIC) of its timed part on one line. A child
 * that should be placed on another node is made by fork and exec (herd
 * places at exec); its descriptors are /dev/null or the pipes measured,
 * so nothing else crosses. */
#ifndef HERD_ACROSS_H
#define HERD_ACROSS_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* now_ns is CLOCK_MONOTONIC in nanoseconds. */
static inline long long now_ns(void)
{
	struct timespec t;
	return clock_gettime(CLOCK_MONOTONIC, &t), t.tv_sec * 1000000000LL + t.tv_nsec;
}

#define die(what) (perror(what), exit(1))

static inline long num_arg(int argc, char **argv, int i)
{
	long n = argc > i ? strtol(argv[i], NULL, 10) : 0;
	if (n <= 0) {
		fprintf(stderr, "%s: argument %d: want a positive count\n", argv[0], i);
		exit(2);
	}
	return n;
}

/* devnull puts /dev/null on fd (in a child, before exec). */
static inline void devnull(int fd)
{
	int n = open("/dev/null", O_RDWR);
	if (n < 0 || dup2(n, fd) < 0)
		_exit(126);
	if (n != fd)
		close(n);
}

#endif
