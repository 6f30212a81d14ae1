/* Built as `nginx`: a "server" process that spawns a shell, as a web shell
 * or an exploited server would. */
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t child = fork();
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", "id; uname -a", (char *)0);
		_exit(127);
	}
	waitpid(child, 0, 0);
	return 0;
}
