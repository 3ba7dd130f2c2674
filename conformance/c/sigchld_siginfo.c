/* SIGCHLD delivered to an SA_SIGINFO handler: si_code CLD_EXITED,
 * CLD_KILLED (SIGABRT with the dumpable flag off: no core), CLD_DUMPED
 * (SIGABRT with RLIMIT_CORE unlimited, core_pattern "core", in a private
 * writable directory), si_status, si_pid of the child, si_uid. */
#include "common.h"
#include <sys/stat.h>

static volatile sig_atomic_t got;
static siginfo_t last;

static void on_chld(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	last = *si;
	got = 1;
}

static void expect(const char *name, pid_t c)
{
	wait_for_flag(&got, SIGCHLD);
	got = 0;
	char n[80];
	snprintf(n, sizeof n, "%s_si_pid", name);
	pidmatch(n, last.si_pid, c);
	const char *status = last.si_code == CLD_EXITED ? NULL : signame(last.si_status);
	if (status)
		say(name, "signo=%s code=%s status=%s uid=%d errno=%d", signame(last.si_signo),
		    cldcode(last.si_code), status, (int)last.si_uid, last.si_errno);
	else
		say(name, "signo=%s code=%s status=%d uid=%d errno=%d", signame(last.si_signo),
		    cldcode(last.si_code), last.si_status, (int)last.si_uid, last.si_errno);
	snprintf(n, sizeof n, "%s_wait", name);
	say(n, "%s", wstatus(reap(c)));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_info(SIGCHLD, on_chld, 0);
	block(SIGCHLD);

	pid_t c = xfork();
	if (c == 0)
		_exit(77);
	expect("exited", c);

	c = xfork();
	if (c == 0) {
		raise(SIGTERM);
		_exit(1);
	}
	expect("killed_term", c);

	c = xfork();
	if (c == 0) {
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		abort();
	}
	expect("killed_abort_nodump", c);

	c = xfork();
	if (c == 0) {
		struct rlimit rl = { 0, 0 };
		setrlimit(RLIMIT_CORE, &rl);
		raise(SIGSEGV);
		_exit(1);
	}
	expect("killed_segv_core_limit_0", c);

	/* CLD_DUMPED: only when the kernel writes a core; the pattern must be a
	 * plain file name for that to be deterministic here */
	char pat[256] = "";
	int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, pat, sizeof pat - 1);
		pat[n > 0 ? n : 0] = 0;
		close(fd);
	}
	int plain = pat[0] != '|' && strchr(pat, '/') == NULL;
	say("core_pattern_plain", "%s", yesno(plain));
	if (plain) {
		char dir[] = "/tmp/herd-core-XXXXXX";
		if (!mkdtemp(dir)) {
			result("mkdtemp", -1);
			return 1;
		}
		c = xfork();
		if (c == 0) {
			struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
			setrlimit(RLIMIT_CORE, &rl);
			if (chdir(dir) < 0)
				_exit(2);
			abort();
		}
		expect("dumped", c);
		/* remove whatever core file was written */
		rmdir_flat(dir);
	}

	c = xfork();
	if (c == 0) {
		setuid(65534);
		_exit(5);
	}
	expect("exited_as_nobody", c);
	return 0;
}
