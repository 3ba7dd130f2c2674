/* vfork: the parent is suspended until the child execs or exits; the child
 * shares memory until then; vfork+exec of /bin/true and of a missing file. */
#include "common.h"

static volatile int shared;

int main(int argc, char **argv)
{
	setup(argc, argv);
	fflush(NULL);
	shared = 0;
	pid_t c = vfork();
	if (c == 0) {
		shared = 42; /* visible to the parent: same memory */
		_exit(3);
	}
	say("vfork_shared_write_seen", "%s", yesno(shared == 42));
	int st;
	pidmatch("vfork_waitpid", waitpid(c, &st, 0), c);
	say("vfork_status", "%s", wstatus(st));

	/* the parent runs only after the child exits: the child's exit happens
	 * before the parent's waitpid with WNOHANG can miss it */
	c = vfork();
	if (c == 0)
		_exit(4);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	say("vfork_child_done_before_parent", "code=%s status=%d", cldcode(si.si_code), si.si_status);
	reap(c);

	c = vfork();
	if (c == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	pidmatch("vfork_exec_true_waitpid", waitpid(c, &st, 0), c);
	say("vfork_exec_true", "%s", wstatus(st));

	volatile int exec_errno = 0;
	c = vfork();
	if (c == 0) {
		execl("/nonexistent/program", "x", (char *)NULL);
		exec_errno = errno;
		_exit(127);
	}
	say("vfork_exec_missing_errno", "%s", errname(exec_errno));
	say("vfork_exec_missing", "%s", wstatus(reap(c)));

	/* getppid in the vfork child is the parent */
	volatile pid_t seen = 0;
	pid_t me = getpid();
	c = vfork();
	if (c == 0) {
		seen = getppid();
		_exit(0);
	}
	reap(c);
	pidmatch("vfork_child_ppid", seen, me);
	/* a signal to the suspended parent is delivered after the child goes */
	return 0;
}
