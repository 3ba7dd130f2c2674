/* execve keeps the process's identity: pid, ppid, process group, session,
 * uid, a pending alarm, the subreaper flag; it resets pdeathsig only for
 * set-id images (not here). */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "after") == 0) {
		pidmatch("pid", getpid(), atoi(argv[2]));
		pidmatch("ppid", getppid(), atoi(argv[3]));
		pidmatch("pgrp", getpgrp(), atoi(argv[4]));
		pidmatch("sid", getsid(0), atoi(argv[5]));
		say("uid", "%d", (int)getuid());
		unsigned left = alarm(0);
		say("alarm_kept", "%s", yesno(left > 0 && left <= 1000));
		int v = -1;
		prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
		say("subreaper_kept", "%d", v);
		prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
		say("pdeathsig_kept", "%s", signame(v));
		return 0;
	}
	pid_t c = xfork();
	if (c == 0) {
		setpgid(0, 0);
		alarm(1000);
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0);
		char a[4][32];
		snprintf(a[0], 32, "%d", getpid());
		snprintf(a[1], 32, "%d", getppid());
		snprintf(a[2], 32, "%d", getpgrp());
		snprintf(a[3], 32, "%d", getsid(0));
		execl(argv0, argv0, "after", a[0], a[1], a[2], a[3], (char *)NULL);
		_exit(127);
	}
	int st;
	pidmatch("waitpid", waitpid(c, &st, 0), c);
	say("status", "%s", wstatus(st));
	/* a chain of execs keeps the pid too */
	c = xfork();
	if (c == 0) {
		char pid[32];
		snprintf(pid, sizeof pid, "%d", getpid());
		execl("/bin/sh", "sh", "-c", "exec sh -c 'test $$ = $1 && echo chain: same pid' sh $0", pid, (char *)NULL);
		_exit(127);
	}
	say("chain_status", "%s", wstatus(reap(c)));
	return 0;
}
