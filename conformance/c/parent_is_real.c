/* The program's own parent (the shell, or whatever started it) is a real
 * process: every call that takes a PID answers for getppid() as for any
 * other process. Values are compared with our own (a child inherits its
 * parent's scheduling policy, priority, nice value and affinity) rather
 * than printed, and /proc/<ppid> must exist and name the same process. */
#include "common.h"
#include <sched.h>
#include <sys/stat.h>

static void proc_checks(pid_t ppid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)ppid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	outcome("proc_ppid_stat_open", fd);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		say("proc_ppid_stat_pid_matches", "%s", yesno(strtol(buf, NULL, 10) == ppid));
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)ppid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	outcome("proc_ppid_status_open", fd);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, "/proc/%d", (int)ppid);
	struct stat st;
	outcome("proc_ppid_dir", stat(path, &st));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	pid_t ppid = getppid();
	say("ppid_is_1", "%s", yesno(ppid == 1));
	result("kill_ppid_0", kill(ppid, 0));
	outcome("getpgid_ppid", getpgid(ppid));
	outcome("getsid_ppid", getsid(ppid));

	int pol = sched_getscheduler(ppid);
	outcome("sched_getscheduler_ppid", pol);
	say("policy_same_as_mine", "%s", yesno(pol == sched_getscheduler(0)));

	struct sched_param sp = { 0 }, mine = { 0 };
	outcome("sched_getparam_ppid", sched_getparam(ppid, &sp));
	sched_getparam(0, &mine);
	say("priority_same_as_mine", "%s", yesno(sp.sched_priority == mine.sched_priority));

	errno = 0;
	int nice_p = getpriority(PRIO_PROCESS, (id_t)ppid);
	say("getpriority_ppid", "%s", errno ? errname(errno) : "ok");
	say("nice_same_as_mine", "%s", yesno(!errno && nice_p == getpriority(PRIO_PROCESS, 0)));

	cpu_set_t set;
	CPU_ZERO(&set);
	outcome("sched_getaffinity_ppid", sched_getaffinity(ppid, sizeof set, &set));

	struct timespec rr;
	outcome("sched_rr_get_interval_ppid", sched_rr_get_interval(ppid, &rr));

	struct rlimit rl;
	outcome("prlimit_ppid_get", prlimit(ppid, RLIMIT_NOFILE, NULL, &rl));

	outcome("pidfd_open_ppid", syscall(SYS_pidfd_open, ppid, 0));

	proc_checks(ppid);
	return 0;
}
