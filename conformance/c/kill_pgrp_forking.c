/* A group signal reaches every member, also a member forking at that very
 * moment: Linux delivers a group signal to the parent before its fork or
 * to both parent and child after it (copy_process's multiprocess list),
 * never to the parent alone. A member forks without pause while the group
 * is sent SIGTERM: no child of it may outlive the signal. Run in rounds
 * to hit the fork in flight. */
#include "common.h"

#define ROUNDS 30

/* one round: 1 if no member of the group survived its SIGTERM */
static int round_once(void)
{
	int ready[2];
	xpipe(ready);
	pid_t forker = xfork();
	if (forker == 0) {
		setpgid(0, 0);
		gate_open(ready[1]);
		/* every child sleeps; its parent forks the next at once */
		for (int i = 0; i < 4000; i++) {
			pid_t c = fork();
			if (c == 0) {
				for (;;)
					pause();
			}
			if (c < 0)
				usleep(100);
		}
		for (;;)
			pause();
	}
	setpgid(forker, forker);
	gate_wait(ready[0]);
	close(ready[0]);
	close(ready[1]);
	usleep(3000);
	if (kill(-forker, SIGTERM) != 0)
		return 0;
	int st;
	waitpid(forker, &st, 0);
	/* the forker's children are orphans now, reaped by us (subreaper);
	 * the group empties once every one of them took the signal */
	for (int i = 0; i < 2000; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill(-forker, 0) != 0 && errno == ESRCH)
			return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
		usleep(5000);
	}
	kill(-forker, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	alarm(0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int ok = 0;
	for (int r = 0; r < ROUNDS; r++)
		ok += round_once();
	say("rounds_without_survivor", "%d of %d", ok, ROUNDS);
	return 0;
}
