/* What the recorder reads from kernel objects at syscall exit, for
 * tests/record/objects.rs:
 *   1. TCP connects to listeners on 127.0.0.1 and [::1] (both succeed);
 *      prints "v4 CLIENT_PORT SERVER_PORT" and "v6 CLIENT_PORT SERVER_PORT";
 *   2. pipe2 and pipe (the raw syscall: glibc's pipe() is pipe2); prints
 *      "pipe RFD WFD INODE" for each (fstat's st_ino);
 *   3. prctl(PR_SET_NAME, "saker-renamed") then prctl(PR_GET_NAME, buf).
 * Exits 0 when every step behaved as expected. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Connects a client to a loopback listener of `family`; prints both ports. */
static int tcp_pair(int family, const char *tag)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	int l = socket(family, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 1))
		return -1;
	socklen_t sl = sizeof(ss);
	if (getsockname(l, (struct sockaddr *)&ss, &sl))
		return -1;
	int c = socket(family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		return -1;
	int a = accept(l, NULL, NULL);
	if (a < 0)
		return -1;
	struct sockaddr_storage cs;
	socklen_t cl = sizeof(cs);
	if (getsockname(c, (struct sockaddr *)&cs, &cl))
		return -1;
	unsigned cport = family == AF_INET ? ntohs(((struct sockaddr_in *)&cs)->sin_port)
					   : ntohs(((struct sockaddr_in6 *)&cs)->sin6_port);
	unsigned sport = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	printf("%s %u %u\n", tag, cport, sport);
	if (write(c, "ping", 4) != 4)
		return -1;
	close(a);
	close(c);
	close(l);
	return 0;
}

static int pipe_of(int two)
{
	int fds[2];
	if (two ? pipe2(fds, O_CLOEXEC) : syscall(SYS_pipe, fds))
		return -1;
	struct stat st;
	if (fstat(fds[0], &st))
		return -1;
	printf("pipe %d %d %llu\n", fds[0], fds[1], (unsigned long long)st.st_ino);
	if (write(fds[1], "x", 1) != 1)
		return -1;
	close(fds[0]);
	close(fds[1]);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tcp_pair(AF_INET, "v4") || tcp_pair(AF_INET6, "v6"))
		return 3;
	if (pipe_of(1) || pipe_of(0))
		return 4;
	char name[16] = {0};
	if (prctl(PR_SET_NAME, "saker-renamed", 0, 0, 0) || prctl(PR_GET_NAME, name, 0, 0, 0))
		return 5;
	return strcmp(name, "saker-renamed") ? 6 : 0;
}
