/* SIGCHLD blocked and taken with sigwaitinfo/sigtimedwait (no handler,
 * no signal-delivery stop): each child's exit gives its own si_pid,
 * si_code and si_status, and every exit is seen, the third as the
 * first. Then sigtimedwait without a siginfo buffer. */
#include "common.h"

static void take(const char *name, const sigset_t *set, pid_t c, int code)
{
	siginfo_t si;
	struct timespec ts = {5, 0};
	memset(&si, 0, sizeof si);
	int s = sigtimedwait(set, &si, &ts);
	if (s < 0) {
		result(name, s);
		return;
	}
	char n[80];
	snprintf(n, sizeof n, "%s_si_pid", name);
	pidmatch(n, si.si_pid, c);
	say(name, "signo=%s code=%s status=%d", signame(s), cldcode(si.si_code), si.si_status);
	(void)code;
	snprintf(n, sizeof n, "%s_wait", name);
	say(n, "%s", wstatus(reap(c)));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 1; i <= 3; i++) {
		pid_t c = xfork();
		if (c == 0)
			_exit(i);
		char n[32];
		snprintf(n, sizeof n, "child%d", i);
		take(n, &set, c, CLD_EXITED);
	}
	pid_t c = xfork();
	if (c == 0)
		_exit(7);
	struct timespec ts = {5, 0};
	int s = sigtimedwait(&set, NULL, &ts);
	say("no_info", "%s", s == SIGCHLD ? "SIGCHLD" : errname(errno));
	say("no_info_wait", "%s", wstatus(reap(c)));
	c = xfork();
	if (c == 0)
		_exit(8);
	take("after_no_info", &set, c, CLD_EXITED);
	return 0;
}
