// SPDX-License-Identifier: GPL-2.0
/* holder.c - the process the ELF harnesses point agentleak at (see holder.h).
 *
 *   holder FILE PARENT_PID
 *
 * Maps FILE readable and executable, as a process maps a library, writes one byte to
 * stdout when it has, and waits; it dies with its parent. Built static and stripped
 * (make fuzz), so that its own executable defines no malloc and has no DT_NEEDED: the
 * allocator search goes on to the mapped file, queued first by the LD_PRELOAD of its
 * environment (which a static program ignores).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAP_LEN (64UL << 20) /* at least the largest input; past EOF is never touched */

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3)
		return 2;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != atoi(argv[2]))
		return 1;
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (mmap(NULL, MAP_LEN, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED)
		return 1;
	close(fd);
	if (write(1, "", 1) != 1)
		return 1;
	for (;;)
		pause();
}
