/* FNV-1a, and a hash of integers mixed with the generated prime table. */
#include "hash.h"
#include "table.h"

unsigned hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

unsigned hash_ints(const int *v, size_t n)
{
	unsigned h = 0;
	for (size_t i = 0; i < n; i++)
		h = h * primes[i % NPRIMES] + (unsigned)v[i];
	return h;
}
