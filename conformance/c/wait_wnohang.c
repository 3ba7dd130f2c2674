/* WNOHANG: nothing ready -> 0; then the child; ECHILD with no children;
 * waitid WNOHANG with nothing ready -> 0 and si_pid zeroed. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	result("wnohang_no_children", waitpid(-1, NULL, WNOHANG));
	int g[2], done[2];
	xpipe(g);
	xpipe(done);
	pid_t c = xfork();
	if (c == 0) {
		gate_wait(g[0]);
		_exit(6);
	}
	int st = 12345;
	result("wnohang_running_pid", waitpid(c, &st, WNOHANG));
	say("wnohang_status_untouched", "%s", yesno(st == 12345));
	result("wnohang_running_any", waitpid(-1, &st, WNOHANG));
	result("wait4_wnohang_running", wait4(c, &st, WNOHANG, NULL));
	siginfo_t si;
	memset(&si, 0xff, sizeof si);
	result("waitid_wnohang_running", waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG));
	say("waitid_wnohang_si_pid_zero", "%s", yesno(si.si_pid == 0));
	say("waitid_wnohang_si_signo_zero", "%s", yesno(si.si_signo == 0));
	gate_open(g[1]);
	/* wait without reaping until it is a zombie */
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	pidmatch("wnohang_after_exit", waitpid(c, &st, WNOHANG), c);
	say("wnohang_status", "%s", wstatus(st));
	result("wnohang_after_reap", waitpid(c, &st, WNOHANG));
	result("wnohang_any_after_reap", waitpid(-1, &st, WNOHANG));
	return 0;
}
