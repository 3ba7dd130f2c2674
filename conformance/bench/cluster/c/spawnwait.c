/* spawnwait: a child that execs /bin/true (placed where the policy says),
 * with /dev/null for stdin, stdout and stderr.
 *
 *   spawnwait spawn N   fork, exec, waitpid, N times: the whole loop timed.
 *   spawnwait wait N    fork, exec, then waitid(WEXITED|WNOWAIT) until
 *                       the child has exited (not reaped), then wait4:
 *                       only the wait4 calls timed. (Not SIGCHLD and
 *                       sigwaitinfo: under herd the second SIGCHLD never
 *                       reached sigwaitinfo.) */
#include "across.h"
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

static pid_t start_true(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		devnull(0), devnull(1), devnull(2);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void check(pid_t pid, pid_t got, int st)
{
	if (got != pid)
		die("wait4");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "spawnwait: child status %#x\n", st);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long n = num_arg(argc, argv, 2);
	if (strcmp(argv[1], "spawn") == 0) {
		long long t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int st;
			pid_t pid = start_true();
			check(pid, waitpid(pid, &st, 0), st);
		}
		printf("%lld\n", now_ns() - t0);
		return 0;
	}
	long long total = 0;
	for (long i = 0; i < n; i++) {
		pid_t pid = start_true();
		siginfo_t si;
		if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0)
			die("waitid");
		int st;
		struct rusage ru;
		long long t0 = now_ns();
		pid_t got = wait4(pid, &st, 0, &ru);
		total += now_ns() - t0;
		check(pid, got, st);
	}
	printf("%lld\n", total);
	return 0;
}
