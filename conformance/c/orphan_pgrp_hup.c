/* When a process group becomes orphaned and has a stopped member, the
 * kernel sends it SIGHUP then SIGCONT (POSIX). A group without stopped
 * members gets nothing. */
#include "common.h"

static int out_fd;
static void on_hup(int s) { (void)s; write_all(out_fd, "got: SIGHUP\n", 12); }
static void on_cont(int s) { (void)s; write_all(out_fd, "got: SIGCONT\n", 13); }

static void scenario(const char *name, int stop)
{
	int out[2], ready[2];
	xpipe(out);
	xpipe(ready);
	pid_t mid = xfork();
	if (mid == 0) {
		/* mid stays in our group; its child leads a new group in the
		 * same session, kept un-orphaned by mid */
		pid_t c = xfork();
		if (c == 0) {
			out_fd = out[1];
			close(out[0]);
			setpgid(0, 0);
			sigaction_simple(SIGHUP, on_hup, 0);
			sigaction_simple(SIGCONT, on_cont, 0);
			if (stop) {
				gate_open(ready[1]);
				raise(SIGSTOP);
				/* resumed by the orphaning SIGCONT after SIGHUP */
				fdsay(out[1], "resumed", "yes");
			} else {
				/* the parent's exit is observed by polling getppid;
				 * read it before letting the parent go */
				pid_t pp = getppid();
				gate_open(ready[1]);
				while (getppid() == pp)
					msleep(1);
				/* signals would have been sent before reparenting
				 * completed; check pending/handled state */
				fdsay(out[1], "resumed", "never stopped");
			}
			_exit(0);
		}
		setpgid(c, c);
		gate_wait(ready[0]);
		if (stop) {
			siginfo_t si;
			waitid(P_PID, (id_t)c, &si, WSTOPPED | WNOWAIT);
		}
		_exit(0); /* orphans c's group */
	}
	close(out[1]);
	close(ready[1]);
	reap(mid);
	printf("scenario: %s\n", name);
	relay(out[0]);
	close(out[0]);
	close(ready[0]);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	scenario("stopped member", 1);
	scenario("running member", 0);
	return 0;
}
