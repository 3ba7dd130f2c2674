/* execve errors: ENOENT (missing file, missing #! interpreter), EACCES
 * (no execute bit, a directory), ENOEXEC (executable garbage, empty file),
 * ENOTDIR, ELOOP; a valid #! script runs and its status is returned. */
#include "common.h"
#include <sys/stat.h>

static char dir[] = "/tmp/herd-exec-XXXXXX";

static void mkfile(const char *name, const char *content, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write_all(fd, content, strlen(content));
	close(fd);
	chmod(p, mode);
}

static void try(const char *name, const char *file)
{
	char p[256];
	char *args[] = { (char *)file, NULL };
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	snprintf(p, sizeof p, "%s/%s", dir, file);
	result(name, execve(p, args, env));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (!mkdtemp(dir)) {
		result("mkdtemp", -1);
		return 1;
	}
	mkfile("noexec", "#!/bin/sh\nexit 0\n", 0644);
	mkfile("garbage", "this is not a program\n", 0755);
	mkfile("empty", "", 0755);
	mkfile("badinterp", "#!/nonexistent/interpreter\n", 0755);
	mkfile("script", "#!/bin/sh\necho script: ran \"$0\" | sed 's|/.*/||'\nexit 23\n", 0755);
	mkfile("plainfile", "x", 0644);
	char p[256], q[256];
	snprintf(p, sizeof p, "%s/subdir", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/loop1", dir);
	snprintf(q, sizeof q, "%s/loop2", dir);
	if (symlink(q, p) < 0 || symlink(p, q) < 0)
		say("symlink", "failed");

	try("missing", "missing");
	try("no_execute_bit", "noexec");
	try("directory", "subdir");
	try("garbage", "garbage");
	try("empty", "empty");
	try("missing_interpreter", "badinterp");
	try("enotdir", "plainfile/x");
	try("eloop", "loop1");
	result("empty_path", execve("", (char *[]){ "x", NULL }, NULL));

	pid_t c = xfork();
	if (c == 0)
		try("script", "script");
	say("script_status", "%s", wstatus(reap(c)));
	/* the failed execs left us intact */
	say("still_running", "yes");
	rmdir_flat(p);
	unlink(q);
	snprintf(p, sizeof p, "%s/subdir", dir);
	rmdir(p);
	rmdir_flat(dir);
	return 0;
}
