/* The calls that describe the machine agree with the files that do:
 * sysinfo's totals are /proc/meminfo's, sched_getaffinity names as many
 * CPUs as /proc/self/status allows, get_nprocs_conf counts
 * /proc/cpuinfo's processors, and a thread pinned to a CPU of its mask
 * finds itself there with getcpu(2). Under herd these are the cluster's
 * (the node's CPUs numbered globally); natively the host's. */
#include "common.h"
#include <sched.h>
#include <sys/sysinfo.h>

/* meminfo_kb is the value of a /proc/meminfo line, in kB (-1: none). */
static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = atol(line + n + 1);
	if (f)
		fclose(f);
	return v;
}

/* count_lines counts the lines of path that start with prefix. */
static int count_lines(const char *path, const char *prefix)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, prefix, strlen(prefix)))
			n++;
	if (f)
		fclose(f);
	return n;
}

/* allowed_count is the number of CPUs of /proc/self/status's
 * Cpus_allowed_list ("0-3,6"). */
static int allowed_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "Cpus_allowed_list:", 18))
			continue;
		for (char *p = line + 18; *p && *p != '\n';) {
			long a = strtol(p, &p, 10), b = a;
			if (*p == '-')
				b = strtol(p + 1, &p, 10);
			n += b - a + 1;
			if (*p == ',')
				p++;
		}
	}
	if (f)
		fclose(f);
	return n;
}

static void check_sysinfo(void)
{
	struct sysinfo si;
	outcome("sysinfo", sysinfo(&si));
	say("mem_unit", "%u", si.mem_unit);
	say("totalram_is_memtotal", "%s", yesno((long)(si.totalram / 1024) == meminfo_kb("MemTotal")));
	say("totalswap_is_swaptotal", "%s", yesno((long)(si.totalswap / 1024) == meminfo_kb("SwapTotal")));
	say("procs_positive", "%s", yesno(si.procs > 0));
	result("sysinfo_bad_address", syscall(SYS_sysinfo, (void *)8));
}

static void check_affinity(void)
{
	cpu_set_t set, one;
	CPU_ZERO(&set);
	outcome("getaffinity", sched_getaffinity(0, sizeof set, &set));
	say("affinity_is_status_allowed", "%s", yesno(CPU_COUNT(&set) == allowed_count()));
	say("nprocs_conf_is_cpuinfo", "%s", yesno(get_nprocs_conf() == count_lines("/proc/cpuinfo", "processor")));
	result("getaffinity_odd_size", syscall(SYS_sched_getaffinity, 0, 4, &set));
	result("getaffinity_no_such_pid", sched_getaffinity(0x3ffffff0, sizeof set, &set));
	int first = -1;
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &set))
			first = c;
	CPU_ZERO(&one);
	CPU_SET(CPU_SETSIZE - 1, &one);
	result("setaffinity_no_such_cpu", sched_setaffinity(0, sizeof one, &one));
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	outcome("setaffinity_first", sched_setaffinity(0, sizeof one, &one));
	cpu_set_t now;
	CPU_ZERO(&now);
	sched_getaffinity(0, sizeof now, &now);
	say("pinned_to_first", "%s", yesno(CPU_COUNT(&now) == 1 && CPU_ISSET(first, &now)));
	unsigned cpu = ~0u, node = ~0u;
	outcome("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	say("getcpu_is_first", "%s", yesno((int)cpu == first));
	result("getcpu_bad_address", syscall(SYS_getcpu, (void *)8, NULL, NULL));
	outcome("setaffinity_back", sched_setaffinity(0, sizeof set, &set));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	check_sysinfo();
	check_affinity();
	return 0;
}
