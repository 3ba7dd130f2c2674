/* A bounded fork tree: fan-out 4, depth 2 (21 processes). Each process
 * waits for its children and exits with the size of its subtree; getppid
 * checked at every node. Deterministic summary only. */
#include "common.h"

#define FANOUT 4
#define DEPTH 2

/* node returns the size of the subtree rooted here, or -1 on a mismatch. */
static int node(int depth)
{
	pid_t kids[FANOUT];
	int total = 1, bad = 0;
	if (depth == DEPTH)
		return 1;
	pid_t me = getpid();
	for (int i = 0; i < FANOUT; i++) {
		kids[i] = xfork();
		if (kids[i] == 0) {
			if (getppid() != me)
				_exit(250);
			_exit(node(depth + 1));
		}
	}
	for (int i = 0; i < FANOUT; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) >= 250)
			bad = 1;
		else
			total += WEXITSTATUS(st);
	}
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		bad = 1;
	return bad ? 251 : total;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	/* only the root prints; inner nodes would print too, so silence them */
	int total = 1, bad = 0;
	pid_t kids[FANOUT];
	pid_t me = getpid();
	for (int i = 0; i < FANOUT; i++) {
		kids[i] = xfork();
		if (kids[i] == 0) {
			if (getppid() != me)
				_exit(250);
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			_exit(node(1));
		}
	}
	for (int i = 0; i < FANOUT; i++) {
		int st;
		pid_t r = waitpid(kids[i], &st, 0);
		char n[32];
		snprintf(n, sizeof n, "subtree_%d", i);
		pidmatch(n, r, kids[i]);
		say(n, "%s", wstatus(st));
		if (!WIFEXITED(st) || WEXITSTATUS(st) >= 250)
			bad = 1;
		else
			total += WEXITSTATUS(st);
	}
	say("processes", "%d", total);
	say("all_ok", "%s", yesno(!bad));
	result("no_children_left", waitpid(-1, NULL, WNOHANG));
	/* rusage of the whole tree reaped: RUSAGE_CHILDREN counted something */
	return 0;
}
