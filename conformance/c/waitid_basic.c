/* waitid: P_PID, P_PGID, P_ALL with WEXITED; siginfo fields si_signo,
 * si_code, si_status, si_pid, si_uid. */
#include "common.h"

static void show(const char *name, int r, siginfo_t *si, pid_t want)
{
	char n[80];
	if (r < 0) {
		result(name, r);
		return;
	}
	snprintf(n, sizeof n, "%s_si_pid", name);
	pidmatch(n, si->si_pid, want);
	say(name, "signo=%s code=%s status=%d uid=%d", signame(si->si_signo),
	    cldcode(si->si_code), si->si_status, (int)si->si_uid);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	siginfo_t si;
	pid_t c = xfork();
	if (c == 0)
		_exit(17);
	memset(&si, 0, sizeof si);
	show("p_pid", waitid(P_PID, (id_t)c, &si, WEXITED), &si, c);

	c = xfork();
	if (c == 0)
		_exit(18);
	memset(&si, 0, sizeof si);
	show("p_all", waitid(P_ALL, 0, &si, WEXITED), &si, c);

	c = xfork();
	if (c == 0)
		raise(SIGKILL);
	memset(&si, 0, sizeof si);
	show("p_pid_killed", waitid(P_PID, (id_t)c, &si, WEXITED), &si, c);

	/* Two children in a new group G, one in our group. P_PGID G reaps only
	 * the members of G; P_PGID 0 means our own group. */
	int g[2];
	xpipe(g);
	pid_t a = xfork();
	if (a == 0) {
		setpgid(0, 0);
		close(g[1]);
		gate_wait(g[0]);
		_exit(1);
	}
	setpgid(a, a);
	pid_t b = xfork();
	if (b == 0) {
		setpgid(0, a);
		close(g[1]);
		gate_wait(g[0]);
		_exit(2);
	}
	setpgid(b, a);
	pid_t o = xfork();
	if (o == 0) {
		close(g[1]);
		gate_wait(g[0]);
		_exit(3);
	}
	close(g[1]);
	int codes[2] = { 0, 0 };
	for (int i = 0; i < 2; i++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PGID, (id_t)a, &si, WEXITED) == 0)
			codes[i] = si.si_status;
	}
	say("p_pgid_codes_sum", "%d", codes[0] + codes[1]);
	memset(&si, 0, sizeof si);
	result("p_pgid_empty", waitid(P_PGID, (id_t)a, &si, WEXITED | WNOHANG));
	memset(&si, 0, sizeof si);
	show("p_pgid_0", waitid(P_PGID, 0, &si, WEXITED), &si, o);
	memset(&si, 0, sizeof si);
	result("p_all_echild", waitid(P_ALL, 0, &si, WEXITED));
	result("p_pid_echild", waitid(P_PID, (id_t)c, &si, WEXITED));
	result("p_pgid_nonexistent", waitid(P_PGID, 999999, &si, WEXITED));
	/* waitid with a NULL infop is accepted by the kernel */
	c = xfork();
	if (c == 0)
		_exit(0);
	result("null_infop", syscall(SYS_waitid, P_PID, c, NULL, WEXITED, NULL));
	result("null_infop_reaped", waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG));
	return 0;
}
