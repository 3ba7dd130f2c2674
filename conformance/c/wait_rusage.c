/* Resource usage from wait4 and getrusage(RUSAGE_CHILDREN) and times():
 * children's CPU time shows up only after they are reaped. Values are never
 * printed, only comparisons. */
#include "common.h"

static long tv_us(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	struct rusage ru, before, after;
	struct tms t0, t1, t2;
	clock_t c0 = times(&t0);
	getrusage(RUSAGE_CHILDREN, &before);
	say("children_utime_initially_zero", "%s", yesno(tv_us(before.ru_utime) == 0));
	pid_t c = xfork();
	if (c == 0) {
		burn(200);
		_exit(0);
	}
	/* zombie but not reaped: not counted yet */
	siginfo_t si;
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	getrusage(RUSAGE_CHILDREN, &ru);
	say("children_utime_before_reap_zero", "%s", yesno(tv_us(ru.ru_utime) == 0));
	clock_t c1 = times(&t1);
	say("times_cutime_before_reap_zero", "%s", yesno(t1.tms_cutime == 0));
	memset(&ru, 0, sizeof ru);
	int st;
	pidmatch("wait4", wait4(c, &st, 0, &ru), c);
	say("wait4_ru_utime_positive", "%s", yesno(tv_us(ru.ru_utime) > 0));
	say("wait4_ru_maxrss_positive", "%s", yesno(ru.ru_maxrss > 0));
	getrusage(RUSAGE_CHILDREN, &after);
	say("children_utime_after_reap_positive", "%s", yesno(tv_us(after.ru_utime) > 0));
	say("children_utime_at_least_wait4", "%s", yesno(tv_us(after.ru_utime) >= tv_us(ru.ru_utime)));
	clock_t c2 = times(&t2);
	say("times_cutime_nondecreasing", "%s", yesno(t2.tms_cutime >= t1.tms_cutime && t1.tms_cutime >= t0.tms_cutime));
	say("times_cutime_positive", "%s", yesno(t2.tms_cutime > 0));
	say("times_elapsed_nondecreasing", "%s", yesno(c2 >= c1 && c1 >= c0));

	/* a grandchild's time is included once the child reaped it */
	c = xfork();
	if (c == 0) {
		pid_t g = xfork();
		if (g == 0) {
			burn(100);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		_exit(0);
	}
	memset(&ru, 0, sizeof ru);
	wait4(c, &st, 0, &ru);
	say("wait4_includes_grandchild", "%s", yesno(tv_us(ru.ru_utime) > 0));
	/* an unreaped grandchild (child exits without waiting) is not counted */
	c = xfork();
	if (c == 0) {
		_exit(0);
	}
	memset(&ru, 0xff, sizeof ru);
	wait4(c, &st, 0, &ru);
	say("wait4_idle_child_utime_small", "%s", yesno(tv_us(ru.ru_utime) < 100000));
	/* wait4 with WNOHANG and nothing ready: is the rusage buffer written? */
	int g[2];
	xpipe(g);
	c = xfork();
	if (c == 0) {
		close(g[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	memset(&ru, 0xff, sizeof ru);
	result("wait4_wnohang_running", wait4(c, &st, WNOHANG, &ru));
	say("wait4_wnohang_rusage_untouched", "%s", yesno(ru.ru_maxrss == -1));
	close(g[1]);
	reap(c);
	return 0;
}
