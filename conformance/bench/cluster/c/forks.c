/* forks: fork rate, in two shapes.
 *
 *   forks loop N    fork, _exit in the child, waitpid: N times. PIDs are
 *                   freed as fast as they are taken, so the node's reserve
 *                   rarely moves.
 *   forks burst N   fork N children that wait on a pipe, then let them all
 *                   go and reap them. N live PIDs at once: the node must
 *                   lease blocks while the burst runs.
 *
 * Prints forks per second of the timed part (the forks; for a burst, also
 * the reaping) on one line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 3 || atol(argv[2]) <= 0) {
		fprintf(stderr, "usage: forks loop|burst N\n");
		return 2;
	}
	long n = atol(argv[2]);
	long long t0 = now_ns();
	if (strcmp(argv[1], "loop") == 0) {
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0)
				_exit(0);
			if (waitpid(pid, NULL, 0) != pid)
				die("waitpid");
		}
	} else {
		int p[2];
		if (pipe(p) < 0)
			die("pipe");
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0) {
				char c;
				close(p[1]);
				while (read(p[0], &c, 1) < 0)
					;
				_exit(0);
			}
		}
		close(p[1]); /* every child sees EOF and exits */
		for (long i = 0; i < n; i++)
			if (wait(NULL) < 0)
				die("wait");
	}
	long long dt = now_ns() - t0;
	printf("%.1f\n", (double)n * 1e9 / (double)dt);
	return 0;
}
