/* Attaches to a child with PTRACE_ATTACH (the injection pattern rules flag). */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	usleep(100000);
	ptrace(PTRACE_ATTACH, child, 0, 0);
	waitpid(child, 0, 0);
	ptrace(PTRACE_DETACH, child, 0, 0);
	kill(child, SIGKILL);
	waitpid(child, 0, 0);
	return 0;
}
