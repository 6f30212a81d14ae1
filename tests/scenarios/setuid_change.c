/* Changes identity with setuid/setgid (root dropping to nobody), and sets
 * the setuid bit on a copy of a binary. */
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1)
		chmod(argv[1], 04755);
	setgid(65534);
	setuid(65534);
	return 0;
}
