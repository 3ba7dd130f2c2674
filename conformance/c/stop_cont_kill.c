/* SIGSTOP/SIGTSTP/SIGCONT sent by the parent to a child: reported both by
 * waitpid(WUNTRACED|WCONTINUED) and by SIGCHLD (si_code, si_status); a
 * stopped child does not run its handlers until continued; SIGCONT wakes
 * it and its SIGCONT handler runs. */
#include "common.h"

static volatile sig_atomic_t chld;
static siginfo_t last;
static void on_chld(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	last = *si;
	chld = 1;
}

static int out_fd;
static volatile sig_atomic_t conts, usr1s;
static void on_cont(int s) { (void)s; conts++; }
static void on_usr1(int s) { (void)s; usr1s++; }

static void report(const char *name, pid_t c, int flags)
{
	int st;
	pid_t r = waitpid(c, &st, flags);
	wait_for_flag(&chld, SIGCHLD);
	chld = 0;
	char n[64];
	snprintf(n, sizeof n, "%s_waitpid", name);
	pidmatch(n, r, c);
	say(name, "wait=%s sigchld=%s/%s", wstatus(st), cldcode(last.si_code), signame(last.si_status));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_info(SIGCHLD, on_chld, 0);
	block(SIGCHLD);
	int out[2], ready[2], g[2];
	xpipe(out);
	xpipe(ready);
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		out_fd = out[1];
		setpgid(0, 0);
		sigaction_simple(SIGCONT, on_cont, 0);
		sigaction_simple(SIGUSR1, on_usr1, 0);
		gate_open(ready[1]);
		while (!gate_wait(g[0]))
			;
		fdsay(out[1], "child_sigcont_handler_ran", "%s", yesno(conts >= 1)); /* SIGCONTs coalesce */
		fdsay(out[1], "child_usr1s", "%d", (int)usr1s);
		_exit(0);
	}
	setpgid(c, c);
	gate_wait(ready[0]);
	kill(c, SIGSTOP);
	report("sigstop", c, WUNTRACED);
	kill(c, SIGCONT);
	report("sigcont", c, WCONTINUED);
	kill(c, SIGTSTP);
	report("sigtstp", c, WUNTRACED);
	/* signals to a stopped process wait until it is continued */
	kill(c, SIGUSR1);
	result("usr1_while_stopped_no_event", waitpid(c, NULL, WNOHANG | WUNTRACED | WCONTINUED));
	kill(c, SIGCONT);
	report("sigcont2", c, WCONTINUED);
	/* stop a stopped process: no new report */
	kill(c, SIGSTOP);
	report("sigstop2", c, WUNTRACED);
	kill(c, SIGSTOP);
	result("second_stop_no_event", waitpid(c, NULL, WNOHANG | WUNTRACED));
	kill(c, SIGCONT);
	report("sigcont3", c, WCONTINUED);
	gate_open(g[1]);
	int st;
	waitpid(c, &st, 0);
	say("exit", "%s", wstatus(st));
	close(out[1]);
	relay(out[0]);
	return 0;
}
