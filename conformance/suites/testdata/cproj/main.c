/* app: exercises the library and forks workers; its output is the result
 * the test compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hash.h"
#include "list.h"
#include "strutil.h"
#include "table.h"
#include "workers.h"

int main(void)
{
	struct node *l = NULL;
	int v[1000];
	for (int i = 0; i < 1000; i++) {
		v[i] = (i * 7919) % 1000;
		l = list_push(l, v[i]);
	}
	l = list_sort(l);
	printf("sorted: first %d, sum %d\n", l->value, list_sum(l));
	l = list_reverse(l);
	printf("reversed: first %d\n", l->value);
	list_free(l);

	printf("primes: %d, last %u\n", NPRIMES, primes[NPRIMES - 1]);
	printf("fnv(herd): %08x\n", hash_bytes("herd", 4));

	char word[] = "conformance";
	str_reverse(word);
	const char *parts[] = {"make", "-j4", word};
	char *joined = str_join(parts, 3, " ");
	printf("joined: %s (%zu spaces)\n", joined, str_count(joined, ' '));
	free(joined);

	unsigned results[8];
	int statuses[8];
	if (run_workers(v, 1000, 8, results, statuses) != 0) {
		printf("workers failed\n");
		return 1;
	}
	for (int i = 0; i < 8; i++)
		printf("worker %d: status %d hash %08x\n", i, statuses[i], results[i]);
	printf("whole: %08x\n", hash_ints(v, 1000));

	char *echo[] = {"echo", "spawned echo", NULL};
	printf("spawn status %d\n", spawn_wait(echo));
	char *fail[] = {"sh", "-c", "exit 7", NULL};
	printf("spawn sh status %d\n", spawn_wait(fail));

	pid_t me = getpid();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		printf("child's parent is main: %s\n", getppid() == me ? "yes" : "no");
		exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exited %d\n", WEXITSTATUS(st));
	return 0;
}
