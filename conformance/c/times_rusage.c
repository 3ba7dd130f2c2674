/* times() and getrusage(RUSAGE_SELF/THREAD) sanity: CPU time grows after
 * burning CPU, clocks never go backwards, ru_maxrss is positive, bad
 * `who` is EINVAL. No raw values are printed. */
#include "common.h"

static long tv_us(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	struct rusage a, b, th;
	struct tms t0, t1;
	clock_t c0 = times(&t0);
	result("getrusage_self", getrusage(RUSAGE_SELF, &a));
	burn(100);
	result("getrusage_self_again", getrusage(RUSAGE_SELF, &b));
	clock_t c1 = times(&t1);
	say("utime_grew", "%s", yesno(tv_us(b.ru_utime) > tv_us(a.ru_utime)));
	say("stime_nondecreasing", "%s", yesno(tv_us(b.ru_stime) >= tv_us(a.ru_stime)));
	say("maxrss_positive", "%s", yesno(b.ru_maxrss > 0));
	say("times_utime_grew", "%s", yesno(t1.tms_utime > t0.tms_utime));
	say("times_elapsed_nondecreasing", "%s", yesno(c1 >= c0));
	say("times_children_zero", "%s", yesno(t1.tms_cutime == 0 && t1.tms_cstime == 0));
	result("getrusage_thread", getrusage(RUSAGE_THREAD, &th));
	/* The kernel splits a task's run time into user and system time by
	 * sampling, separately for the thread and the process, so under
	 * load one split can lead the other by more than a tick: compare
	 * the sums, which are exact. */
	say("thread_utime_le_self", "%s", yesno(tv_us(th.ru_utime) + tv_us(th.ru_stime) <=
		tv_us(b.ru_utime) + tv_us(b.ru_stime) + 10000));
	result("getrusage_bad_who", getrusage(42, &th));
	result("getrusage_bad_who_negative", getrusage(-3, &th));
	struct timespec ts;
	result("clock_process_cputime", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
	say("process_cputime_positive", "%s", yesno(ts.tv_sec > 0 || ts.tv_nsec > 0));
	say("clk_tck", "%ld", sysconf(_SC_CLK_TCK));
	/* sysconf(_SC_CHILD_MAX) is cluster-dependent: only check it answers */
	say("child_max_answers", "%s", yesno(sysconf(_SC_CHILD_MAX) != 0));
	/* times(NULL) is allowed and returns the clock */
	errno = 0;
	clock_t c2 = times(NULL);
	say("times_null_ok", "%s", yesno(c2 != (clock_t)-1 && c2 >= c1));
	return 0;
}
