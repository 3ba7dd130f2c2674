/* An orphan is reparented to pid 1 when no ancestor is a subreaper:
 * getppid() changes from the dead parent's pid to 1. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	int out[2], ready[2];
	xpipe(out);
	xpipe(ready);
	int sr = -1;
	prctl(PR_GET_CHILD_SUBREAPER, &sr, 0, 0, 0);
	say("subreaper_self", "%d", sr);
	pid_t mid = xfork();
	if (mid == 0) {
		close(out[0]);
		pid_t parent = getpid();
		pid_t g = xfork();
		if (g == 0) {
			close(ready[0]);
			pid_t before = getppid();
			fdsay(out[1], "orphan_ppid_before", "%s", before == parent ? "parent" : "other");
			gate_open(ready[1]);
			/* wait for the middle process to exit: poll until the parent changes. */
			while (getppid() == parent)
				msleep(1);
			pid_t after = getppid();
			fdsay(out[1], "orphan_ppid_is_1", "%s", yesno(after == 1));
			fdsay(out[1], "orphan_ppid_changed", "%s", yesno(after != parent));
			_exit(0);
		}
		close(ready[1]);
		gate_wait(ready[0]);
		_exit(7);
	}
	close(out[1]);
	close(ready[1]);
	say("middle", "%s", wstatus(reap(mid)));
	relay(out[0]);
	/* the orphan is not our child */
	errno = 0;
	int r = waitpid(-1, NULL, WNOHANG);
	result("waitpid_after_orphan", r);
	return 0;
}
