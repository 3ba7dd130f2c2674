#ifndef WORKERS_H
#define WORKERS_H
/* Hash nworkers slices of v in child processes; results[i] gets slice i's
 * hash, statuses[i] its child's exit status. Returns 0 on success. */
int run_workers(const int *v, int n, int nworkers, unsigned *results, int *statuses);
/* Run argv with posix_spawnp and return its exit status, or -1. */
int spawn_wait(char *const argv[]);
#endif
