/* getppid in a child and grandchild names the forking process; the top
 * program's parent is not pid 1 (it was started as if by a shell). */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	pid_t me = getpid();
	say("top_ppid_is_1", "%s", yesno(getppid() == 1));
	say("top_ppid_nonzero", "%s", yesno(getppid() > 0));
	pid_t c = xfork();
	if (c == 0) {
		pidmatch("child_ppid", getppid(), me);
		pid_t mid = getpid();
		pid_t g = xfork();
		if (g == 0) {
			pidmatch("grandchild_ppid", getppid(), mid);
			exit(0);
		}
		say("grandchild", "%s", wstatus(reap(g)));
		pidmatch("child_ppid_again", getppid(), me);
		exit(3);
	}
	say("child", "%s", wstatus(reap(c)));
	pidmatch("top_pid_stable", getpid(), me);
	return 0;
}
