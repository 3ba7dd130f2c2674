/* common.h: helpers shared by herd's conformance programs.
 *
 * Output convention: one line per check, "name: value". Never print raw
 * PIDs, times or addresses; print "match"/"yes"/"no" or a "pid=<n>" token,
 * which the harness renames P1, P2, ... in order of first appearance.
 * Errors are printed as "-1 ENAME (strerror)". */
#ifndef HERD_CONFORMANCE_COMMON_H
#define HERD_CONFORMANCE_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#define WATCHDOG_SECONDS 20

static const char *argv0; /* for re-exec of self */

static void watchdog(void) { alarm(WATCHDOG_SECONDS); }

/* setup: line-buffered stdout (each check is written when printed, so a
 * child's lines cannot be duplicated or reordered by fork), watchdog. */
static void setup(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	watchdog();
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static const char *signame(int s)
{
	/* a few rotating buffers: several calls may share one printf */
	static char bufs[4][32];
	static int next;
	char *buf = bufs[next++ % 4];
	const char *n;
	if (s == 0)
		return "0";
	if (s >= SIGRTMIN && s <= SIGRTMAX) {
		snprintf(buf, 32, "SIGRTMIN+%d", s - SIGRTMIN);
		return buf;
	}
	n = sigabbrev_np(s);
	if (!n) {
		snprintf(buf, 32, "SIG%d", s);
		return buf;
	}
	snprintf(buf, 32, "SIG%s", n);
	return buf;
}

/* say prints one check line. */
static void say(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* result prints a syscall outcome: "0" / the value, or "-1 ENAME (text)".
 * Use only for results that are not PIDs or times. */
static void result(const char *name, long r)
{
	if (r == -1)
		say(name, "-1 %s (%s)", errname(errno), strerror(errno));
	else
		say(name, "%ld", r);
}

/* outcome prints "ok" for a non-negative result, else the errno. */
static void outcome(const char *name, long r)
{
	if (r < 0)
		say(name, "-1 %s (%s)", errname(errno), strerror(errno));
	else
		say(name, "ok");
}

/* pidmatch prints "match" when got == want, else both numbers as pid tokens
 * (or the errno when got is -1). */
static void pidmatch(const char *name, long got, long want)
{
	if (got == want)
		say(name, "match");
	else if (got == -1)
		say(name, "-1 %s (%s)", errname(errno), strerror(errno));
	else
		say(name, "mismatch got pid=%ld want pid=%ld", got, want);
}

static const char *yesno(int b) { return b ? "yes" : "no"; }

/* describe a wait status. */
static const char *wstatus(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed %s%s", signame(WTERMSIG(st)),
			 WCOREDUMP(st) ? " core" : "");
	else if (WIFSTOPPED(st))
		snprintf(buf, sizeof buf, "stopped %s", signame(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		snprintf(buf, sizeof buf, "continued");
	else
		snprintf(buf, sizeof buf, "raw 0x%x", st);
	return buf;
}

static const char *cldcode(int c)
{
	switch (c) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_TRAPPED: return "CLD_TRAPPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	case SI_USER: return "SI_USER";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TKILL: return "SI_TKILL";
	case SI_KERNEL: return "SI_KERNEL";
	case 0x7fffffff: return "none";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "code%d", c);
	return buf;
}

/* xfork flushes stdio first and arms the watchdog in the child (alarms are
 * not inherited across fork). */
static pid_t xfork(void)
{
	fflush(NULL);
	pid_t p = fork();
	if (p < 0) {
		perror("fork");
		exit(99);
	}
	if (p == 0)
		watchdog();
	return p;
}

/* reap waits for pid (retrying EINTR) and returns its status, or -1. */
static int reap(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, __WALL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	return st;
}

/* Pipes used as one-shot gates between processes. */
static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(99);
	}
}

static void gate_open(int fd)
{
	char c = 'x';
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* gate_wait blocks until one byte (or EOF) arrives; returns 1 on a byte. */
static int gate_wait(int fd)
{
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* relay copies everything from fd to stdout until EOF: used to print, in
 * the right order, what a process that is not our child reported. */
static void relay(int fd)
{
	char buf[4096];
	ssize_t n;
	fflush(stdout);
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		write_all(1, buf, (size_t)n);
	}
}

/* fdsay prints a check line to an arbitrary fd (async-signal-unsafe callers
 * must not use it in handlers). */
static void fdsay(int fd, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fdsay(int fd, const char *name, const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "%s: ", name);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	write_all(fd, buf, (size_t)n);
}

/* burn spends at least ms of user CPU time. */
static void burn(long ms)
{
	struct rusage ru;
	volatile unsigned long x = 0;
	for (;;) {
		for (int i = 0; i < 1000000; i++)
			x += (unsigned long)i * 7;
		getrusage(RUSAGE_SELF, &ru);
		if (ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 >= ms)
			return;
	}
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* wait_stopped_state polls (without reaping) until pid is stopped. */
static int wait_until_stopped(pid_t pid)
{
	siginfo_t si;
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		return si.si_code;
	}
}

static int sigaction_simple(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static int sigaction_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = flags | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static void block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void unblock(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

/* wait_for_signal sleeps in sigsuspend until *flag is set; sig must be
 * blocked by the caller, so there is no lost-wakeup race. */
static void wait_for_flag(volatile sig_atomic_t *flag, int sig)
{
	sigset_t s;
	sigprocmask(SIG_SETMASK, NULL, &s);
	sigdelset(&s, sig);
	while (!*flag)
		sigsuspend(&s);
}

/* rmdir_flat removes a directory and the plain files in it. */
static void rmdir_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static pid_t xgettid(void) { return (pid_t)syscall(SYS_gettid); }

/* queue_info is the siginfo sigqueue() makes: SI_QUEUE from this process
 * with value val, for the raw rt_sigqueueinfo and rt_tgsigqueueinfo. */
static siginfo_t queue_info(int sig, int val)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = val;
	return si;
}

#endif
