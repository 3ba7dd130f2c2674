/* SIGCHLD for stops and continues: CLD_STOPPED with the stop signal in
 * si_status, CLD_CONTINUED with SIGCONT; with SA_NOCLDSTOP neither is
 * sent, though exits still are. The stop is seen by waitpid(WUNTRACED),
 * after which the signal is already pending. */
#include "common.h"

static volatile sig_atomic_t got;
static volatile sig_atomic_t count;
static siginfo_t last;

static void on_chld(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	last = *si;
	got = 1;
	count++;
}

static void show(const char *name, pid_t c)
{
	wait_for_flag(&got, SIGCHLD);
	got = 0;
	char n[80];
	snprintf(n, sizeof n, "%s_si_pid", name);
	pidmatch(n, last.si_pid, c);
	say(name, "code=%s status=%s", cldcode(last.si_code),
	    last.si_code == CLD_EXITED ? "exit" : signame(last.si_status));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_info(SIGCHLD, on_chld, 0);
	block(SIGCHLD);
	int st;

	int g[2];
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		setpgid(0, 0);
		raise(SIGTSTP);
		gate_wait(g[0]);
		_exit(3);
	}
	setpgid(c, c);
	show("tstp", c);
	waitpid(c, &st, WUNTRACED);
	say("tstp_wait", "%s", wstatus(st));
	kill(c, SIGCONT);
	show("cont", c);
	waitpid(c, &st, WCONTINUED);
	say("cont_wait", "%s", wstatus(st));
	kill(c, SIGSTOP);
	show("stop", c);
	kill(c, SIGCONT);
	show("cont2", c);
	gate_open(g[1]);
	show("exit", c);
	say("exit_wait", "%s", wstatus(reap(c)));

	/* SA_NOCLDSTOP: no SIGCHLD for stop/continue */
	sigaction_info(SIGCHLD, on_chld, SA_NOCLDSTOP);
	count = 0;
	int hold[2];
	xpipe(hold);
	c = xfork();
	if (c == 0) {
		raise(SIGSTOP);
		/* no exit (and its SIGCHLD) until the parent has looked */
		close(hold[1]);
		gate_wait(hold[0]);
		_exit(4);
	}
	close(hold[0]);
	pidmatch("nocldstop_waitpid", waitpid(c, &st, WUNTRACED), c);
	say("nocldstop_stopped", "%s", wstatus(st));
	kill(c, SIGCONT);
	pidmatch("nocldstop_continued", waitpid(c, &st, WCONTINUED), c);
	sigset_t pend;
	sigpending(&pend);
	say("nocldstop_pending_after_stop_cont", "%s", yesno(sigismember(&pend, SIGCHLD)));
	unblock(SIGCHLD);
	block(SIGCHLD);
	say("nocldstop_handler_ran", "%s", yesno(count > 0));
	close(hold[1]);
	show("nocldstop_exit", c);
	say("nocldstop_exit_wait", "%s", wstatus(reap(c)));
	return 0;
}
