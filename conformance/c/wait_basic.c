/* waitpid/wait/wait4 basics: exit codes, pid returned, ECHILD. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	static const int codes[] = { 0, 1, 42, 255, 256, -1 };
	for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		pid_t c = xfork();
		if (c == 0)
			exit(codes[i]);
		int st = 0;
		pid_t r = waitpid(c, &st, 0);
		char name[64];
		snprintf(name, sizeof name, "waitpid_exit(%d)", codes[i]);
		pidmatch(name, r, c);
		say(name, "%s raw=0x%x", wstatus(st), st);
	}
	/* wait(NULL) and wait4 with NULL status */
	pid_t c = xfork();
	if (c == 0)
		_exit(9);
	pidmatch("wait_null", wait(NULL), c);
	c = xfork();
	if (c == 0)
		_exit(9);
	pidmatch("wait4_null_status", wait4(c, NULL, 0, NULL), c);
	/* waitpid(-1) with several children: collect the codes in order of
	 * child index, whatever order they are reaped in */
	pid_t kids[4];
	for (int i = 0; i < 4; i++) {
		kids[i] = xfork();
		if (kids[i] == 0)
			_exit(10 + i);
	}
	int got[4] = { 0 };
	for (int n = 0; n < 4; n++) {
		int st;
		pid_t r = waitpid(-1, &st, 0);
		for (int i = 0; i < 4; i++)
			if (kids[i] == r)
				got[i] = WEXITSTATUS(st);
	}
	say("waitpid_any", "%d %d %d %d", got[0], got[1], got[2], got[3]);
	/* waitpid(0): children in our process group */
	c = xfork();
	if (c == 0)
		_exit(4);
	int st;
	pidmatch("waitpid_0", waitpid(0, &st, 0), c);
	say("waitpid_0_status", "%s", wstatus(st));
	/* no children left */
	result("wait_echild", wait(NULL));
	result("waitpid_echild", waitpid(-1, NULL, 0));
	result("waitpid_echild_wnohang", waitpid(-1, NULL, WNOHANG));
	result("waitpid_reaped_pid", waitpid(c, NULL, 0));
	result("waitpid_pid1_not_child", waitpid(1, NULL, 0));
	result("waitpid_self", waitpid(getpid(), NULL, 0));
	return 0;
}
