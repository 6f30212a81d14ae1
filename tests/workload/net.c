/* Socket addresses and message buffers, for tests/record/lifecycle.rs:
 *   1. a TCP connect to 127.0.0.1:1 that fails (ECONNREFUSED);
 *   2. a UDP datagram "v6-hello" sent to itself on [::1];
 *   3. a unix datagram "msg-hello" sent with sendmsg to DIR/sock and
 *      received with recvmsg.
 * Usage: net DIR. Exits 0 when every step behaved as expected. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	/* 1. failed connect */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(1)};
	inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
	if (connect(s, (struct sockaddr *)&a4, sizeof(a4)) == 0 || errno != ECONNREFUSED)
		return 3;
	close(s);

	/* 2. inet6 datagram to itself */
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t l6 = sizeof(a6);
	if (u < 0 || bind(u, (struct sockaddr *)&a6, sizeof(a6)) || getsockname(u, (struct sockaddr *)&a6, &l6))
		return 4;
	char buf[64];
	if (sendto(u, "v6-hello", 8, 0, (struct sockaddr *)&a6, sizeof(a6)) != 8)
		return 5;
	struct sockaddr_in6 from6;
	socklen_t fl = sizeof(from6);
	if (recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from6, &fl) != 8)
		return 6;
	close(u);

	/* 3. unix datagram with sendmsg / recvmsg */
	struct sockaddr_un au = {.sun_family = AF_UNIX};
	snprintf(au.sun_path, sizeof(au.sun_path), "%s/sock", argv[1]);
	unlink(au.sun_path);
	int r = socket(AF_UNIX, SOCK_DGRAM, 0);
	int w = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (r < 0 || w < 0 || bind(r, (struct sockaddr *)&au, sizeof(au)))
		return 7;
	struct iovec iov = {.iov_base = "msg-hello", .iov_len = 9};
	struct msghdr m = {.msg_name = &au, .msg_namelen = sizeof(au), .msg_iov = &iov, .msg_iovlen = 1};
	if (sendmsg(w, &m, 0) != 9)
		return 8;
	struct iovec riov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1};
	if (recvmsg(r, &rm, 0) != 9 || memcmp(buf, "msg-hello", 9))
		return 9;
	close(r);
	close(w);
	unlink(au.sun_path);
	return 0;
}
