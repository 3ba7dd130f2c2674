/* compute: a fixed integer and floating-point kernel with no system calls.
 * One op is 256 rounds of an xorshift step feeding a multiply-add. */
#include "bench.h"
#include <stdint.h>

static volatile double sink;

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	uint64_t s = 88172645463325252ULL;
	double x = 1.0;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		for (int j = 0; j < 256; j++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			x = x * 0.9999999 + (double)(s & 0xff) * 1e-3;
		}
	}
	long long t1 = now_ns();
	sink = x + (double)s;
	report(t0, t1);
	return 0;
}
