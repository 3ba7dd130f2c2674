/* PR_SET_PDEATHSIG fires when the parent *thread* exits, even though the
 * parent process lives on: a child forked by a non-main thread gets its
 * death signal when that thread ends, and is then reparented within the
 * thread group (getppid still the process). */
#include "common.h"
#include <pthread.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }

static int ready[2], out[2], stop[2];
static pid_t child, tgid;

static void *forker(void *arg)
{
	(void)arg;
	child = xfork();
	if (child == 0) {
		sigaction_simple(SIGUSR1, on_usr1, 0);
		block(SIGUSR1);
		prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
		gate_open(ready[1]);
		wait_for_flag(&got, SIGUSR1);
		fdsay(out[1], "child_got_pdeathsig_on_thread_exit", "yes");
		fdsay(out[1], "child_ppid_still_process", "%s", yesno(getppid() == tgid));
		_exit(0);
	}
	gate_wait(ready[0]);
	return NULL; /* this thread exits: the child's parent thread is gone */
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	tgid = getpid();
	xpipe(ready);
	xpipe(out);
	xpipe(stop);
	pthread_t t;
	pthread_create(&t, NULL, forker, NULL);
	pthread_join(t, NULL);
	int st;
	pidmatch("waitpid", waitpid(child, &st, 0), child);
	say("status", "%s", wstatus(st));
	close(out[1]);
	relay(out[0]);
	return 0;
}
