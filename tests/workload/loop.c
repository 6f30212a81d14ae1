/*
 * The spine benchmark's workload: N iterations of
 *   getppid, openat(/dev/zero), read(64), write(/dev/null, 64), close.
 * Prints the loop's own elapsed time in ns on stdout, so process start-up
 * is not measured.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	char buf[64];
	int null = open("/dev/null", O_WRONLY);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		syscall(SYS_getppid);
		long fd = syscall(SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY);
		syscall(SYS_read, fd, buf, sizeof(buf));
		syscall(SYS_write, null, buf, sizeof(buf));
		syscall(SYS_close, fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
