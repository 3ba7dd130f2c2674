/* __WCLONE and __WALL: a clone() child whose exit signal is not SIGCHLD
 * (0 or SIGUSR1) is invisible to a plain wait and found with __WCLONE or
 * __WALL; __WCLONE does not see ordinary children. */
#include "common.h"
#include <sched.h>

static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1++; }

static int child_fn(void *arg)
{
	return (int)(intptr_t)arg;
}

static char stack1[65536] __attribute__((aligned(16)));
static char stack2[65536] __attribute__((aligned(16)));
static char stack3[65536] __attribute__((aligned(16)));

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGUSR1, on_usr1, 0);
	block(SIGUSR1);
	int st;
	siginfo_t si;
	fflush(NULL);
	pid_t c0 = clone(child_fn, stack1 + sizeof stack1, 0, (void *)31);
	outcome("clone_exit_signal_0", c0);
	/* nothing of the plain kind: ECHILD, even with WNOHANG */
	result("plain_wait_sees_nothing", waitpid(-1, &st, WNOHANG));
	result("plain_waitpid_pid", waitpid(c0, &st, WNOHANG));
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)c0, &si, WEXITED | WNOWAIT | __WCLONE);
	say("waitid_wclone_nowait", "code=%s status=%d", cldcode(si.si_code), si.si_status);
	pidmatch("wclone", waitpid(c0, &st, __WCLONE), c0);
	say("wclone_status", "%s", wstatus(st));

	pid_t c1 = clone(child_fn, stack2 + sizeof stack2, SIGUSR1, (void *)32);
	outcome("clone_exit_signal_usr1", c1);
	pidmatch("wall", waitpid(-1, &st, __WALL), c1);
	say("wall_status", "%s", wstatus(st));
	sigset_t pend;
	sigpending(&pend);
	say("sigusr1_pending_from_clone_exit", "%s", yesno(sigismember(&pend, SIGUSR1)));
	unblock(SIGUSR1);
	say("sigusr1_handled", "%s", yesno(usr1 == 1));

	/* an ordinary child is not visible to __WCLONE */
	pid_t n = xfork();
	if (n == 0)
		_exit(33);
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)n, &si, WEXITED | WNOWAIT);
	result("wclone_ignores_normal", waitpid(n, &st, __WCLONE | WNOHANG));
	pidmatch("normal_plain", waitpid(n, &st, 0), n);
	say("normal_status", "%s", wstatus(st));

	/* a clone child with exit signal SIGCHLD is a normal child */
	pid_t c2 = clone(child_fn, stack3 + sizeof stack3, SIGCHLD, (void *)34);
	pidmatch("clone_sigchld_plain_wait", waitpid(c2, &st, 0), c2);
	say("clone_sigchld_status", "%s", wstatus(st));
	result("nothing_left_wall", waitpid(-1, &st, __WALL | WNOHANG));
	return 0;
}
