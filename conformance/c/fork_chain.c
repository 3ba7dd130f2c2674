/* A chain of 20 processes, each the child of the previous: each checks
 * getppid, waits for its child and exits with the child's status + 1;
 * then a burst of 20 siblings reaped with wait(-1). */
#include "common.h"

#define DEPTH 20

static int link_(int depth)
{
	if (depth == DEPTH)
		return 0;
	pid_t me = getpid();
	pid_t c = xfork();
	if (c == 0) {
		if (getppid() != me)
			_exit(200);
		_exit(link_(depth + 1));
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) >= 200)
		return 201;
	return WEXITSTATUS(st) + 1;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	say("chain_length", "%d", link_(0));
	pid_t kids[DEPTH];
	for (int i = 0; i < DEPTH; i++) {
		kids[i] = xfork();
		if (kids[i] == 0)
			_exit(i);
	}
	int seen[DEPTH] = { 0 }, n = 0, bad = 0;
	for (;;) {
		int st;
		pid_t r = wait(&st);
		if (r < 0)
			break;
		n++;
		int found = 0;
		for (int i = 0; i < DEPTH; i++)
			if (kids[i] == r && WIFEXITED(st) && WEXITSTATUS(st) == i) {
				seen[i]++;
				found = 1;
			}
		if (!found)
			bad = 1;
	}
	say("wait_end", "%s", errname(errno));
	int once = 1;
	for (int i = 0; i < DEPTH; i++)
		if (seen[i] != 1)
			once = 0;
	say("siblings_reaped", "%d", n);
	say("each_once_with_its_status", "%s", yesno(once && !bad));
	return 0;
}
