/* String helpers. */
#include <stdlib.h>
#include <string.h>
#include "strutil.h"

void str_reverse(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n / 2; i++) {
		char t = s[i];
		s[i] = s[n - 1 - i];
		s[n - 1 - i] = t;
	}
}

size_t str_count(const char *s, char c)
{
	size_t k = 0;
	for (; *s; s++)
		k += *s == c;
	return k;
}

char *str_join(const char *const *parts, size_t n, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]) + strlen(sep);
	char *out = malloc(len);
	if (!out)
		abort();
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, sep);
		strcat(out, parts[i]);
	}
	return out;
}
