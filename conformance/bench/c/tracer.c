/* tracer: the smallest ptrace+seccomp supervisor, as a reference for what
 * one trapped call costs on this machine. It runs PROG ARGS... with a
 * filter that returns SECCOMP_RET_TRACE for kill(2) and ALLOW for all else,
 * and resumes every seccomp stop with PTRACE_CONT without looking at it.
 * It exits with PROG's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
		perror("tracer: PTRACE_TRACEME");
		_exit(127);
	}
	raise(SIGSTOP); /* let the parent set its options before the filter */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
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
