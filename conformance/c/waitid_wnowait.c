/* WNOWAIT leaves the child waitable; a second wait reaps it. wait4 rejects
 * WNOWAIT with EINVAL. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	siginfo_t si;
	pid_t c = xfork();
	if (c == 0)
		_exit(21);
	for (int i = 0; i < 2; i++) {
		memset(&si, 0, sizeof si);
		char n[32];
		snprintf(n, sizeof n, "wnowait_%d", i);
		int r = waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
		if (r < 0)
			result(n, r);
		else
			say(n, "code=%s status=%d", cldcode(si.si_code), si.si_status);
	}
	result("wait4_wnowait_einval", wait4(c, NULL, WNOWAIT, NULL));
	int st;
	pidmatch("waitpid_after_wnowait", waitpid(c, &st, 0), c);
	say("status", "%s", wstatus(st));
	result("gone", waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT));

	/* WNOWAIT on a stop: still reported by a later WSTOPPED wait */
	c = xfork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(22);
	}
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)c, &si, WSTOPPED | WNOWAIT);
	say("stop_wnowait", "code=%s status=%s", cldcode(si.si_code), signame(si.si_status));
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)c, &si, WSTOPPED);
	say("stop_consumed", "code=%s status=%s", cldcode(si.si_code), signame(si.si_status));
	memset(&si, 0, sizeof si);
	result("stop_again", waitid(P_PID, (id_t)c, &si, WSTOPPED | WNOHANG));
	say("stop_again_si_pid_zero", "%s", yesno(si.si_pid == 0));
	kill(c, SIGCONT);
	say("exit", "%s", wstatus(reap(c)));

	/* WNOWAIT with P_ALL across two zombies, then reap both */
	pid_t a = xfork();
	if (a == 0)
		_exit(1);
	pid_t b = xfork();
	if (b == 0)
		_exit(2);
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)a, &si, WEXITED | WNOWAIT);
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)b, &si, WEXITED | WNOWAIT);
	memset(&si, 0, sizeof si);
	waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
	say("p_all_wnowait_is_child", "%s", yesno(si.si_pid == a || si.si_pid == b));
	int sum = 0;
	for (int i = 0; i < 2; i++) {
		waitpid(-1, &st, 0);
		sum += WEXITSTATUS(st);
	}
	say("sum", "%d", sum);
	return 0;
}
