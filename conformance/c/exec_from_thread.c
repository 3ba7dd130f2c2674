/* execve from a non-main thread of a multithreaded process: the new image
 * keeps the process's pid (the thread takes over the leader's identity),
 * is single-threaded, keeps the parent; other threads are gone. */
#include "common.h"
#include <pthread.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep(100);
	return NULL;
}

static char pidbuf[32], ppidbuf[32];

static void *execer(void *arg)
{
	(void)arg;
	say("execer_is_not_leader", "%s", yesno(xgettid() != getpid()));
	execl(argv0, argv0, "after", pidbuf, ppidbuf, (char *)NULL);
	result("execl", -1);
	exit(127);
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 3 && strcmp(argv[1], "after") == 0) {
		pidmatch("pid_kept", getpid(), atoi(argv[2]));
		pidmatch("ppid_kept", getppid(), atoi(argv[3]));
		pidmatch("tid_is_pid", xgettid(), getpid());
		say("threads_after_exec", "%d", count_threads());
		return 12;
	}
	pid_t c = xfork();
	if (c == 0) {
		snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
		snprintf(ppidbuf, sizeof ppidbuf, "%d", getppid());
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		say("threads_before_exec", "%d", count_threads());
		pthread_create(&t, NULL, execer, NULL);
		for (;;)
			pause();
	}
	int st;
	pidmatch("waitpid_same_pid", waitpid(c, &st, 0), c);
	say("status", "%s", wstatus(st));
	/* the main thread itself execs while other threads run */
	c = xfork();
	if (c == 0) {
		snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
		snprintf(ppidbuf, sizeof ppidbuf, "%d", getppid());
		pthread_t t;
		pthread_create(&t, NULL, sleeper, NULL);
		execl(argv0, argv0, "after", pidbuf, ppidbuf, (char *)NULL);
		_exit(127);
	}
	pidmatch("main_exec_waitpid", waitpid(c, &st, 0), c);
	say("main_exec_status", "%s", wstatus(st));
	return 0;
}
