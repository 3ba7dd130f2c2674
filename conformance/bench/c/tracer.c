/* tracer: the smallest ptrace+seccomp supervisor, as a reference for what
 * one trapped call costs on this machine. It runs PROG ARGS... with a
 * filter that returns SECCOMP_RET_TRACE for kill(2) and ALLOW for all else,
 * and resumes every seccomp stop with PTRACE_CONT without looking at it.
 * It exits with PROG's status. */
#define _GNU_SOURCE
#include "killfilter.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static void child(char **argv)
{
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
		perror("tracer: PTRACE_TRACEME");
		_exit(127);
	}
	raise(SIGSTOP); /* let the parent set its options before the filter */
	if (install_kill_filter(SECCOMP_RET_TRACE, 0) < 0) {
		perror("tracer: install seccomp filter");
		_exit(127);
	}
	execv(argv[0], argv);
	perror("tracer: execv");
	_exit(127);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: tracer PROG [ARGS...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("tracer: fork");
		return 1;
	}
	if (pid == 0)
		child(argv + 1);
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
		fprintf(stderr, "tracer: child did not stop\n");
		return 1;
	}
	long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
	if (ptrace(PTRACE_SETOPTIONS, pid, 0, opts) < 0) {
		perror("tracer: PTRACE_SETOPTIONS");
		return 1;
	}
	int sig = 0;
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, sig) < 0) {
			perror("tracer: PTRACE_CONT");
			return 1;
		}
		if (waitpid(pid, &st, 0) != pid) {
			perror("tracer: waitpid");
			return 1;
		}
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		if (WIFSIGNALED(st))
			return 128 + WTERMSIG(st);
		/* A seccomp stop or the exec SIGTRAP resume with no signal;
		 * any other stop is a signal to pass on. */
		sig = WSTOPSIG(st);
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)) || sig == SIGTRAP)
			sig = 0;
	}
}
