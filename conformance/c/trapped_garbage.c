/* Every trapped syscall fed hostile arguments: bad pointers, huge and
 * negative numbers, unknown flags. The kernel answers with errors; herd
 * must answer the same and survive (a sentry crash would end the run). */
#include "common.h"
#include <sched.h>

#define BAD ((void *)1)
#define HIGH ((void *)0xffffffffffff0000ull)

int main(int argc, char **argv)
{
	setup(argc, argv);
	long r;

	r = syscall(SYS_wait4, -1, BAD, 0, BAD);
	result("wait4_bad_ptrs_no_child", r);
	r = syscall(SYS_wait4, -1, NULL, 0x7fffffff, NULL);
	result("wait4_all_option_bits", r);
	r = syscall(SYS_waitid, P_ALL, 0, HIGH, WEXITED | WNOHANG, HIGH);
	result("waitid_high_ptrs_no_child", r);
	r = syscall(SYS_waitid, 99, 0, NULL, WEXITED, NULL);
	result("waitid_bad_idtype", r);
	r = syscall(SYS_kill, 0x7fffffff, SIGUSR1);
	result("kill_huge_pid", r);
	r = syscall(SYS_kill, getpid(), 65);
	result("kill_sig_65", r);
	r = syscall(SYS_kill, getpid(), -1);
	result("kill_sig_negative", r);
	r = syscall(SYS_tgkill, -5, -5, 0);
	result("tgkill_negative", r);
	r = syscall(SYS_tkill, 0, 0);
	result("tkill_zero", r);
	r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, BAD);
	result("rt_sigqueueinfo_bad_info", r);
	r = syscall(SYS_rt_tgsigqueueinfo, getpid(), getpid(), SIGUSR1, HIGH);
	result("rt_tgsigqueueinfo_high_info", r);
	r = syscall(SYS_rt_sigaction, SIGCHLD, BAD, NULL, 8);
	result("rt_sigaction_sigchld_bad_act", r);
	r = syscall(SYS_rt_sigaction, SIGCHLD, NULL, BAD, 8);
	result("rt_sigaction_sigchld_bad_old", r);
	r = syscall(SYS_rt_sigaction, SIGCHLD, NULL, NULL, 3);
	result("rt_sigaction_sigchld_bad_size", r);
	r = syscall(SYS_prctl, PR_GET_PDEATHSIG, BAD, 0, 0, 0);
	result("prctl_get_pdeathsig_bad_ptr", r);
	r = syscall(SYS_prctl, PR_GET_CHILD_SUBREAPER, HIGH, 0, 0, 0);
	result("prctl_get_subreaper_high_ptr", r);
	r = syscall(SYS_prctl, PR_SET_PDEATHSIG, 1000, 0, 0, 0);
	result("prctl_set_pdeathsig_1000", r);
	r = syscall(SYS_getrusage, RUSAGE_CHILDREN, BAD);
	result("getrusage_children_bad_ptr", r);
	r = syscall(SYS_times, BAD);
	say("times_bad_ptr", "%s", r == -1 && errno == EFAULT ? "EFAULT" : "other");
	r = syscall(SYS_setpgid, -1, 0);
	result("setpgid_negative_pid", r);
	r = syscall(SYS_setpgid, 0x7fffffff, 0x7fffffff);
	result("setpgid_huge", r);
	r = syscall(SYS_getpgid, 0x7fffffff);
	result("getpgid_huge", r);
	r = syscall(SYS_getsid, -7);
	result("getsid_negative", r);
	r = syscall(SYS_pidfd_open, 0x7fffffff, 0);
	result("pidfd_open_huge", r);
	r = syscall(SYS_pidfd_open, -1, 0);
	result("pidfd_open_negative", r);
	r = syscall(SYS_clone3, NULL, 0);
	say("clone3", "%s", r == -1 && (errno == ENOSYS || errno == EINVAL || errno == EFAULT) ? "refused" : "other");
	r = syscall(SYS_clone, CLONE_THREAD, NULL, NULL, NULL, 0);
	result("clone_thread_without_vm", r);
	r = syscall(SYS_clone, 0xffffffffUL & ~(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID), NULL, NULL, NULL, 0);
	say("clone_every_flag", "%s", r < 0 ? "refused" : "made");
	if (r == 0)
		_exit(0);
	r = syscall(SYS_setuid, -1);
	result("setuid_minus_1", r);
	say("survived", "yes");
	return 0;
}
