/* Bad user pointers give EFAULT, not a crash: wait4 status and rusage,
 * waitid infop, getrusage, times, prctl getters, rt_sigaction,
 * rt_sigprocmask, execve path and argv. Whether the child was reaped
 * despite the fault is printed too (the kernel reaps it). */
#include "common.h"

#define BAD ((void *)1)

int main(int argc, char **argv)
{
	setup(argc, argv);
	pid_t c = xfork();
	if (c == 0)
		_exit(1);
	siginfo_t si;
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	result("wait4_bad_status", syscall(SYS_wait4, c, BAD, 0, NULL));
	result("wait4_bad_status_child_gone", waitpid(c, NULL, WNOHANG));

	c = xfork();
	if (c == 0)
		_exit(2);
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	result("wait4_bad_rusage", syscall(SYS_wait4, c, NULL, 0, BAD));
	result("wait4_bad_rusage_child_gone", waitpid(c, NULL, WNOHANG));

	c = xfork();
	if (c == 0)
		_exit(3);
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	result("waitid_bad_infop", syscall(SYS_waitid, P_PID, c, BAD, WEXITED, NULL));
	result("waitid_bad_infop_child_gone", waitpid(c, NULL, WNOHANG));

	c = xfork();
	if (c == 0)
		_exit(4);
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	result("waitid_bad_rusage", syscall(SYS_waitid, P_PID, c, &si, WEXITED, BAD));
	result("waitid_bad_rusage_child_gone", waitpid(c, NULL, WNOHANG));

	/* WNOHANG with nothing to report and a bad pointer: nothing written */
	int g[2];
	xpipe(g);
	c = xfork();
	if (c == 0) {
		gate_wait(g[0]);
		_exit(5);
	}
	result("wait4_bad_status_nothing_ready", syscall(SYS_wait4, c, BAD, WNOHANG, NULL));
	result("waitid_bad_infop_nothing_ready", syscall(SYS_waitid, P_PID, c, BAD, WEXITED | WNOHANG, NULL));
	gate_open(g[1]);
	say("child5", "%s", wstatus(reap(c)));

	result("getrusage_self_bad", syscall(SYS_getrusage, RUSAGE_SELF, BAD));
	result("getrusage_children_bad", syscall(SYS_getrusage, RUSAGE_CHILDREN, BAD));
	result("getrusage_bad_who_bad_ptr", syscall(SYS_getrusage, 42, BAD));
	errno = 0;
	long t = syscall(SYS_times, BAD);
	say("times_bad", "%s", t == -1 ? errname(errno) : "ok");
	result("prctl_get_pdeathsig_bad", prctl(PR_GET_PDEATHSIG, BAD, 0, 0, 0));
	result("prctl_get_subreaper_bad", prctl(PR_GET_CHILD_SUBREAPER, BAD, 0, 0, 0));
	result("rt_sigaction_bad_act", syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8));
	result("rt_sigaction_bad_oldact", syscall(SYS_rt_sigaction, SIGCHLD, NULL, BAD, 8));
	result("rt_sigprocmask_bad", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8));
	result("rt_sigpending_bad", syscall(SYS_rt_sigpending, BAD, 8));
	result("kill_still_fine", kill(getpid(), 0));
	char *args[] = { "true", NULL };
	result("execve_bad_path", syscall(SYS_execve, BAD, args, NULL));
	result("execve_bad_argv", syscall(SYS_execve, "/bin/true", BAD, NULL));
	result("execve_bad_argv_entry", syscall(SYS_execve, "/bin/true", (char *[]){ BAD, NULL }, NULL));
	result("execve_bad_envp", syscall(SYS_execve, "/bin/true", args, BAD));
	return 0;
}
