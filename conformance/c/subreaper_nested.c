/* Nested subreapers: an orphan goes to the nearest living subreaper
 * ancestor; when that one dies, its orphans go to the next one up. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	pid_t top = getpid();
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	int out[2], ready[2], go[2], go2[2];
	xpipe(out);
	xpipe(ready);
	xpipe(go);
	xpipe(go2);
	pid_t inner = xfork();
	if (inner == 0) {
		/* inner subreaper */
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		pid_t innerpid = getpid();
		pid_t mid = xfork();
		if (mid == 0) {
			pid_t midpid = getpid();
			pid_t g = xfork();
			if (g == 0) {
				gate_open(ready[1]);
				while (getppid() == midpid)
					msleep(1);
				fdsay(out[1], "orphan_parent_1", "%s",
				      getppid() == innerpid ? "inner" : getppid() == top ? "top" : getppid() == 1 ? "init" : "other");
				gate_open(ready[1]);
				while (getppid() == innerpid)
					msleep(1);
				fdsay(out[1], "orphan_parent_2", "%s",
				      getppid() == innerpid ? "inner" : getppid() == top ? "top" : getppid() == 1 ? "init" : "other");
				gate_wait(go2[0]);
				_exit(11);
			}
			gate_wait(ready[0]);
			_exit(0);
		}
		int mst = reap(mid);
		gate_wait(ready[0]); /* orphan saw inner as parent */
		fdsay(out[1], "mid", "%s", wstatus(mst));
		gate_wait(go[0]);
		_exit(0); /* orphan moves up to top */
	}
	close(ready[1]);
	close(out[1]);
	close(go[0]);
	close(go2[0]);
	gate_open(go[1]);
	say("inner", "%s", wstatus(reap(inner)));
	gate_open(go2[1]);
	int st;
	pid_t r;
	do
		r = waitpid(-1, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		say("top_reaped_orphan", "%s", wstatus(st));
	else
		result("top_reaped_orphan", r);
	relay(out[0]);
	result("no_more_children", waitpid(-1, NULL, WNOHANG));
	return 0;
}
