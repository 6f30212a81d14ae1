/* Attempts to load a kernel module (init_module and finit_module). The
 * attempt is what matters: it fails on a kernel without module support. */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	static const char image[] = "\x7f" "ELF not really a module";
	syscall(SYS_init_module, image, sizeof(image), "");
	int fd = open("/bin/true", O_RDONLY);
	syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return 0;
}
