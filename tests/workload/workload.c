/*
 * A workload whose syscalls between two marker opens are known exactly.
 * Every call is a raw syscall(2), so libc adds nothing in between.
 * The integration tests compile it with the system C compiler and record it
 * with `saker record -- workload DIR`.
 *
 * Between the markers the parent makes exactly:
 *   getppid x5, openat x2, write x3, read x2, close x4, pipe2 x1,
 *   clone x2, wait4 x2
 * child 1 (fork):  close x1, write x1 ("child says hi\n"), exit_group(3)
 * child 2 (fork):  execve("/bin/true", ["true", "saker-arg"]) and whatever
 *                  /bin/true does after exec.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_open(const char *path, long flags)
{
	return syscall(SYS_openat, AT_FDCWD, path, flags, 0600);
}

int main(int argc, char **argv)
{
	char path[4096];
	char buf[256];
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	snprintf(path, sizeof(path), "%s/saker-workload.txt", dir);

	sys_open("/saker-marker-begin", O_RDONLY); /* fails with ENOENT */

	for (int i = 0; i < 5; i++)
		syscall(SYS_getppid);

	long fd = sys_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "saker-write-%d\n", i);
		syscall(SYS_write, fd, line, n);
	}
	syscall(SYS_close, fd);

	fd = sys_open(path, O_RDONLY);
	syscall(SYS_read, fd, buf, sizeof(buf));
	syscall(SYS_close, fd);

	int p[2];
	syscall(SYS_pipe2, p, O_CLOEXEC);
	long child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (child == 0) {
		syscall(SYS_close, p[0]);
		static const char msg[] = "child says hi\n";
		syscall(SYS_write, p[1], msg, sizeof(msg) - 1);
		syscall(SYS_exit_group, 3);
	}
	syscall(SYS_close, p[1]);
	syscall(SYS_read, p[0], buf, sizeof(buf));
	syscall(SYS_close, p[0]);
	syscall(SYS_wait4, child, 0, 0, 0);

	child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (child == 0) {
		char *args[] = {"true", "saker-arg", 0};
		char *env[] = {0};
		syscall(SYS_execve, "/bin/true", args, env);
		syscall(SYS_exit_group, 127);
	}
	syscall(SYS_wait4, child, 0, 0, 0);

	sys_open("/saker-marker-end", O_RDONLY);
	return 0;
}
