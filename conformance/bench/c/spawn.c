/* spawn: posix_spawn of /bin/true and waitpid, N times. */
#include "bench.h"
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	char *args[] = {"true", NULL};
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int err = posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ);
		if (err != 0) {
			fprintf(stderr, "posix_spawn: error %d\n", err);
			return 1;
		}
		int st;
		if (waitpid(pid, &st, 0) != pid)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawn: child status %#x\n", st);
			return 1;
		}
	}
	report(t0, now_ns());
	return 0;
}
