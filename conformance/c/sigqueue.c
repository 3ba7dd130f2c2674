/* rt_sigqueueinfo via sigqueue(): the value and SI_QUEUE arrive with the
 * sender's pid and uid; real-time signals queue in order, standard ones
 * coalesce; forging a kernel si_code for another process is EPERM. */
#include "common.h"

static volatile sig_atomic_t n;
static int vals[16];
static int codes[16];
static pid_t senders[16];

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	if (n < 16) {
		vals[n] = si->si_value.sival_int;
		codes[n] = si->si_code;
		senders[n] = si->si_pid;
	}
	n++;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_info(SIGRTMIN, on_sig, 0);
	sigaction_info(SIGUSR1, on_sig, 0);
	block(SIGRTMIN);
	block(SIGUSR1);
	int ready[2], out[2];
	xpipe(ready);
	xpipe(out);
	pid_t parent = getpid();
	pid_t c = xfork();
	if (c == 0) {
		dup2(out[1], 1);
		n = 0;
		gate_open(ready[1]);
		wait_for_flag(&n, SIGRTMIN);
		say("child_value", "%d", vals[0]);
		say("child_code", "%s", cldcode(codes[0]));
		pidmatch("child_sender", senders[0], parent);
		_exit(0);
	}
	gate_wait(ready[0]);
	union sigval v = { .sival_int = 4242 };
	result("sigqueue_child", sigqueue(c, SIGRTMIN, v));
	say("child", "%s", wstatus(reap(c)));
	close(out[1]);
	relay(out[0]);

	/* queueing to self: three real-time signals, all delivered in order */
	n = 0;
	for (int i = 1; i <= 3; i++) {
		v.sival_int = i * 10;
		sigqueue(getpid(), SIGRTMIN, v);
	}
	for (int i = 1; i <= 3; i++) {
		v.sival_int = i;
		sigqueue(getpid(), SIGUSR1, v);
	}
	unblock(SIGRTMIN);
	unblock(SIGUSR1);
	block(SIGRTMIN);
	block(SIGUSR1);
	say("delivered", "%d", (int)n);
	for (int i = 0; i < n && i < 16; i++)
		printf("delivery_%d: value=%d code=%s sender=%s\n", i, vals[i], cldcode(codes[i]),
		       senders[i] == getpid() ? "self" : "other");

	/* raw rt_sigqueueinfo */
	siginfo_t si = queue_info(SIGRTMIN, 77);
	n = 0;
	result("rt_sigqueueinfo_self", syscall(SYS_rt_sigqueueinfo, getpid(), SIGRTMIN, &si));
	unblock(SIGRTMIN);
	block(SIGRTMIN);
	say("raw_value", "%d", vals[0]);

	c = xfork();
	if (c == 0) {
		for (;;)
			pause();
	}
	memset(&si, 0, sizeof si);
	si.si_code = SI_USER; /* >= 0: reserved for the kernel */
	result("forge_si_user_other", syscall(SYS_rt_sigqueueinfo, c, SIGTERM, &si));
	si.si_code = SI_KERNEL;
	result("forge_si_kernel_other", syscall(SYS_rt_sigqueueinfo, c, SIGTERM, &si));
	si.si_code = SI_TKILL;
	result("forge_si_tkill_other", syscall(SYS_rt_sigqueueinfo, c, SIGTERM, &si));
	si.si_code = SI_QUEUE;
	result("bad_sig", syscall(SYS_rt_sigqueueinfo, c, 99, &si));
	result("nonexistent", syscall(SYS_rt_sigqueueinfo, 999999, SIGTERM, &si));
	result("bad_pointer", syscall(SYS_rt_sigqueueinfo, c, SIGTERM, (void *)8));
	result("si_queue_other", syscall(SYS_rt_sigqueueinfo, c, SIGTERM, &si));
	say("child2", "%s", wstatus(reap(c)));
	return 0;
}
