/* Fork one worker per slice; each sends its hash back over a pipe and
 * exits with its index; the parent reaps them in order with waitpid. */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hash.h"
#include "workers.h"

extern char **environ;

int run_workers(const int *v, int n, int nworkers, unsigned *results, int *statuses)
{
	int fds[16][2];
	pid_t pids[16];
	if (nworkers > 16)
		return -1;
	fflush(stdout);
	for (int i = 0; i < nworkers; i++) {
		if (pipe(fds[i]) < 0)
			return -1;
		pids[i] = fork();
		if (pids[i] < 0)
			return -1;
		if (pids[i] == 0) {
			int lo = n * i / nworkers, hi = n * (i + 1) / nworkers;
			unsigned h = hash_ints(v + lo, hi - lo);
			close(fds[i][0]);
			if (write(fds[i][1], &h, sizeof h) != sizeof h)
				_exit(100);
			_exit(i);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < nworkers; i++) {
		int st;
		if (read(fds[i][0], &results[i], sizeof results[i]) != sizeof results[i])
			return -1;
		close(fds[i][0]);
		if (waitpid(pids[i], &st, 0) != pids[i])
			return -1;
		statuses[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	return 0;
}

int spawn_wait(char *const argv[])
{
	pid_t pid;
	int st;
	fflush(stdout);
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
