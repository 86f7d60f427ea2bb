/* SPDX-License-Identifier: GPL-2.0 */
/* holder.h - a live process that maps the fuzz input, for the harnesses of the code
 * that reads the ELF files of a process and takes only its pid: allocator_find() and
 * the symbolizer.
 *
 * holder_start() creates the file build/fuzz/NAME.PID.elf, starts build/fuzz/holder
 * (holder.c) on it with LD_PRELOAD=<that file> in its environment, and learns where
 * the file is mapped; holder_load() replaces the file's contents in place (same inode,
 * same mapping). So each input is seen through /proc/PID/maps, /proc/PID/root and
 * /proc/PID/environ of a real process, as agentleak sees a library that a target maps.
 * Any setup failure exits the harness with a message: a run must not pass without
 * having parsed anything. The holder dies with the harness; the file is removed at exit
 * (a crash leaves it next to the crash input).
 */
#ifndef AL_FUZZ_HOLDER_H
#define AL_FUZZ_HOLDER_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOLDER_MAP_LEN (64ULL << 20) /* as holder.c */

struct holder {
	pid_t pid;
	int fd;
	char path[PATH_MAX];      /* the file, as the holder's maps show it */
	unsigned long long start; /* where it is mapped, HOLDER_MAP_LEN bytes */
};

static struct holder holder = {.pid = -1, .fd = -1};

static void holder_die(const char *what)
{
	fprintf(stderr, "holder: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static void holder_stop(void)
{
	if (holder.pid > 0) {
		kill(holder.pid, SIGKILL);
		waitpid(holder.pid, NULL, 0);
		holder.pid = -1;
	}
	if (holder.path[0])
		unlink(holder.path);
}

/* Replace the mapped file's contents by data[0..size). */
static void holder_load(const uint8_t *data, size_t size)
{
	if (size > HOLDER_MAP_LEN)
		size = HOLDER_MAP_LEN;
	if (ftruncate(holder.fd, 0) || (size && pwrite(holder.fd, data, size, 0) != (ssize_t)size))
		holder_die("cannot write the input file");
}

/* Where the holder maps holder.path, from its /proc/PID/maps. */
static unsigned long long holder_find_mapping(void)
{
	char maps[64], line[PATH_MAX + 256];
	unsigned long long start, end, found = 0;
	FILE *f;
	int pos;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", holder.pid);
	f = fopen(maps, "re");
	if (!f)
		holder_die(maps);
	while (!found && fgets(line, sizeof(line), f)) {
		pos = 0;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &start, &end, &pos) == 2 && pos &&
		    !strcmp(line + pos, holder.path) && end - start == HOLDER_MAP_LEN)
			found = start;
	}
	fclose(f);
	if (!found) {
		errno = 0;
		holder_die("the holder does not map its file");
	}
	return found;
}

/* Start the holder of this harness (name: the harness, for the file's name). */
static void holder_start(const char *name)
{
	char dir[PATH_MAX], prog[PATH_MAX + 16], ppid[16], env[PATH_MAX + 16], *slash, ready;
	char *argv[4], *envp[2];
	int pipefd[2];
	ssize_t n;

	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		holder_die("readlink /proc/self/exe");
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	*slash = '\0';
	snprintf(prog, sizeof(prog), "%s/holder", dir);
	if (snprintf(holder.path, sizeof(holder.path), "%s/%s.%d.elf", dir, name, (int)getpid()) >=
	    (int)sizeof(holder.path))
		holder_die("path too long");
	holder.fd = open(holder.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (holder.fd < 0)
		holder_die(holder.path);
	atexit(holder_stop);
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	snprintf(env, sizeof(env), "LD_PRELOAD=%s", holder.path);
	argv[0] = prog;
	argv[1] = holder.path;
	argv[2] = ppid;
	argv[3] = NULL;
	envp[0] = env;
	envp[1] = NULL;
	if (pipe2(pipefd, O_CLOEXEC))
		holder_die("pipe");
	holder.pid = fork();
	if (holder.pid < 0)
		holder_die("fork");
	if (holder.pid == 0) {
		if (dup2(pipefd[1], 1) == 1)
			execve(prog, argv, envp);
		_exit(127);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &ready, 1) != 1) {
		errno = 0;
		fprintf(stderr, "holder: %s did not start (run make fuzz to build it)\n", prog);
		exit(1);
	}
	close(pipefd[0]);
	holder.start = holder_find_mapping();
}

#endif /* AL_FUZZ_HOLDER_H */
