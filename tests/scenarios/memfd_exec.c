/* Fileless execution: copies /bin/true into a memfd and executes it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int fd = memfd_create("payload", MFD_CLOEXEC);
	int src = open("/bin/true", O_RDONLY);
	char buf[65536];
	ssize_t n;
	while ((n = read(src, buf, sizeof(buf))) > 0)
		write(fd, buf, n);
	close(src);
	pid_t child = fork();
	if (child == 0) {
		char *argv[] = {"payload", 0};
		char *envp[] = {0};
		fexecve(fd, argv, envp);
		_exit(127);
	}
	waitpid(child, 0, 0);
	return 0;
}
