/* Exit paths: atexit handlers run in reverse order and stdio is flushed on
 * exit() but not on _exit(); stderr is compared too; the program finally
 * kills itself with SIGTERM, so the harness must see 128+15. */
#include "common.h"

static void h1(void) { say("atexit", "first registered"); }
static void h2(void) { say("atexit", "second registered"); }

int main(int argc, char **argv)
{
	setup(argc, argv);
	int out[2];
	xpipe(out);
	pid_t c = xfork();
	if (c == 0) {
		dup2(out[1], 1);
		setvbuf(stdout, NULL, _IOFBF, 4096);
		atexit(h1);
		atexit(h2);
		printf("buffered: flushed by exit\n");
		exit(7);
	}
	say("exit_child", "%s", wstatus(reap(c)));
	c = xfork();
	if (c == 0) {
		dup2(out[1], 1);
		setvbuf(stdout, NULL, _IOFBF, 4096);
		atexit(h1);
		printf("buffered: lost by _exit\n");
		_exit(8);
	}
	say("_exit_child", "%s", wstatus(reap(c)));
	close(out[1]);
	relay(out[0]);
	fprintf(stderr, "stderr: a line on stderr\n");
	c = xfork();
	if (c == 0) {
		fprintf(stderr, "stderr: from the child\n");
		return 200; /* return from main = exit */
	}
	say("return_from_main", "%s", wstatus(reap(c)));
	say("last_line", "before SIGTERM");
	fflush(NULL);
	raise(SIGTERM);
	return 0;
}
