/*
 * 32-bit compat syscalls from a 64-bit process: `int $0x80` enters the
 * kernel's ia32 path (TS_COMPAT), with ia32 numbers. Makes getppid (ia32 64)
 * three times and getpid (ia32 20) twice, then exits normally.
 */
static long ia32_syscall0(long nr)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory");
	return ret;
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		ia32_syscall0(64); /* getppid */
	for (int i = 0; i < 2; i++)
		ia32_syscall0(20); /* getpid */
	return 0;
}
