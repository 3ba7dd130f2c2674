/* sigpong N: SIGUSR1 ping-pong between a parent and a child that execs
 * this program again (placed where the policy says); the child's handler
 * answers each signal with kill(parent, SIGUSR1). One op is one round
 * trip: kill, the child's handler, its kill, the parent's handler. */
#include "across.h"
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static volatile sig_atomic_t got;
static pid_t parent;

static void on_ping(int sig)
{
	(void)sig;
	kill(parent, SIGUSR1);
}

static void on_pong(int sig)
{
	(void)sig;
	got = 1;
}

static void handle(void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die("sigaction");
}

/* child: answer every SIGUSR1; the first answer says it is ready. */
static _Noreturn void child(void)
{
	parent = getppid();
	handle(on_ping);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	kill(parent, SIGUSR1);
	for (;;)
		pause();
}

/* await a SIGUSR1 with it unblocked only while suspended. */
static void await(const sigset_t *open)
{
	while (!got)
		sigsuspend(open);
	got = 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "child") == 0)
		child();
	long n = num_arg(argc, argv, 1);
	sigset_t usr1, open;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &open);
	sigdelset(&open, SIGUSR1);
	handle(on_pong);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		devnull(0), devnull(1);
		execl(argv[0], argv[0], "child", (char *)NULL); /* an absolute path */
		_exit(127);
	}
	await(&open); /* the child is ready */
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (kill(pid, SIGUSR1) < 0)
			die("kill");
		await(&open);
	}
	long long t1 = now_ns();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("%lld\n", t1 - t0);
	return 0;
}
