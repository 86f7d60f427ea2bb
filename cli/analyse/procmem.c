// SPDX-License-Identifier: GPL-2.0
/* procmem.c - a process's memory and its cgroup's limit (see procmem.h).
 *
 * /proc/PID/cgroup gives the process's path in each hierarchy, relative to the
 * root of our cgroup namespace; /proc/self/mountinfo says where that hierarchy
 * is mounted here and which part of it the mount shows (its root field, in the
 * same terms). The v1 memory controller is preferred when the process has a
 * "N:memory:/path" line and the hierarchy is mounted (hybrid machines), else the
 * v2 "0::/path". From the process's cgroup up to the mount's root, every level's
 * limit and usage is read: a container's limit is often on its pod's cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analyse/procmem.h"
#include "base/safeio.h"

#define NO_LIMIT (1ULL << 60) /* v1 reports "unlimited" as ~2^63 rounded to a page */

struct cg_files {
	int version;
	const char *limit, *usage;
};

static const struct cg_files v1_files = {1, "memory.limit_in_bytes", "memory.usage_in_bytes"};
static const struct cg_files v2_files = {2, "memory.max", "memory.current"};

int procmem_parse_status(const char *text, struct procmem *out)
{
	static const char *const keys[] = {"VmRSS:", "RssAnon:", "RssFile:", "RssShmem:"};
	unsigned long long *dst[4], v;
	const char *line, *p;
	char *end;
	size_t i, n;

	if (!text || !out)
		return -EINVAL;
	dst[0] = &out->rss;
	dst[1] = &out->anon;
	dst[2] = &out->file;
	dst[3] = &out->shmem;
	for (i = 0; i < 4; i++)
		*dst[i] = 0;
	for (line = text; *line; line = p ? p + 1 : line + strlen(line)) {
		p = strchr(line, '\n');
		for (i = 0; i < 4; i++) {
			n = strlen(keys[i]);
			if (strncmp(line, keys[i], n))
				continue;
			v = strtoull(line + n, &end, 10);
			if (end == line + n)
				break;
			while (*end == ' ' || *end == '\t')
				end++;
			if (!strncmp(end, "kB", 2))
				v = v > ~0ULL / 1024 ? ~0ULL : v * 1024;
			*dst[i] = v;
			break;
		}
	}
	return 0;
}

double procmem_oom_eta(unsigned long long limit, unsigned long long usage, double bytes_per_second)
{
	if (limit == 0 || !(bytes_per_second > 0) || usage >= limit)
		return -1;
	return (double)(limit - usage) / bytes_per_second;
}

/* Undo mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Is word one of the comma-separated items of list? */
static int has_item(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (list && *list) {
		if (!strncmp(list, word, n) && (list[n] == ',' || list[n] == '\0'))
			return 1;
		list = strchr(list, ',');
		if (list)
			list++;
	}
	return 0;
}

/* Does path have a ".." component? */
static int has_dotdot(const char *p)
{
	for (p = strstr(p, "/.."); p; p = strstr(p + 1, "/.."))
		if (p[3] == '/' || p[3] == '\0')
			return 1;
	return 0;
}

/* The part of cgpath below root, "" for root itself; NULL when not under it.
 * Both are relative to our cgroup namespace: a process outside it shows as
 * "/../sibling", and so does a mount made outside it. Only what is under the
 * mount's root is visible, and going up with ".." would leave the mount.
 */
static const char *below(const char *cgpath, const char *root)
{
	size_t n = strlen(root);
	const char *rest = cgpath + n;

	if (!strcmp(root, "/"))
		rest = cgpath;
	else if (strncmp(cgpath, root, n) || (*rest != '/' && *rest != '\0'))
		return NULL;
	return has_dotdot(rest) ? NULL : rest;
}

/* Split one mountinfo line; returns 0 with mount point, root, fstype and super options. */
static int mount_fields(char *line, char **dir, char **root, char **fstype, char **opts)
{
	char *f[64], *save = NULL, *t;
	int n = 0, i;

	for (t = strtok_r(line, " \n", &save); t && n < 64; t = strtok_r(NULL, " \n", &save))
		f[n++] = t;
	for (i = 6; i < n && strcmp(f[i], "-"); i++)
		;
	if (n < 6 || i + 3 >= n)
		return -1;
	*root = f[3];
	*dir = f[4];
	*fstype = f[i + 1];
	*opts = f[i + 3];
	unescape(*root);
	unescape(*dir);
	return 0;
}

/* Directory of cgroup cgpath in our mounts of the given hierarchy (the mount
 * whose root is the longest prefix of cgpath). *top is the length of the mount
 * point prefix of dir: walking up must not go above it.
 */
static int cgroup_dir(int version, const char *cgpath, char *dir, size_t size, size_t *top)
{
	char *line = NULL, *mdir, *root, *fstype, *opts;
	const char *rest;
	size_t cap = 0, best = 0;
	int found = -ENOENT, n;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (mount_fields(line, &mdir, &root, &fstype, &opts))
			continue;
		if (version == 2 ? strcmp(fstype, "cgroup2")
		                 : strcmp(fstype, "cgroup") || !has_item(opts, "memory"))
			continue;
		rest = below(cgpath, root);
		if (!rest || (found == 0 && strlen(root) <= best))
			continue;
		n = snprintf(dir, size, "%s%s", mdir, rest);
		if (n < 0 || (size_t)n >= size)
			continue;
		while (n > 1 && dir[n - 1] == '/')
			dir[--n] = '\0';
		*top = strlen(mdir);
		best = strlen(root);
		found = 0;
	}
	free(line);
	fclose(f);
	return found;
}

/* A number from a cgroup file; "max" is ~0ULL. Returns 0, or -1 when unreadable. */
static int read_number(const char *dir, const char *name, unsigned long long *v)
{
	char path[PATH_MAX], buf[64], *end;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -1;
	if (safeio_read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (!strncmp(buf, "max", 3)) {
		*v = ~0ULL;
		return 0;
	}
	*v = strtoull(buf, &end, 10);
	return end == buf ? -1 : 0;
}

/* Walk from the cgroup's directory up to the mount point. Returns 0 when at
 * least one level had memory files (the hierarchy has the memory controller).
 */
static int walk_up(char *dir, size_t top, const struct cg_files *files, struct procmem *out)
{
	unsigned long long limit, usage, headroom, best = 0, own_usage = 0;
	int have_limit, have_usage, any = 0, own = 0, found = 0;
	char *slash;

	for (;;) {
		have_limit = !read_number(dir, files->limit, &limit);
		have_usage = !read_number(dir, files->usage, &usage);
		if (!have_usage)
			usage = 0;
		if (have_usage && !own) {
			own_usage = usage; /* the process's own cgroup, or the nearest */
			own = 1;
		}
		any |= have_limit || have_usage;
		if (have_limit && limit < NO_LIMIT) {
			headroom = usage < limit ? limit - usage : 0;
			if (!found || headroom < best) {
				out->cg_limit = limit;
				out->cg_usage = usage;
				best = headroom;
				found = 1;
			}
		}
		slash = strrchr(dir, '/');
		if (strlen(dir) <= top || !slash || (size_t)(slash - dir) < top)
			break;
		*slash = '\0';
	}
	if (!found)
		out->cg_usage = own_usage;
	return any ? 0 : -1;
}

static int read_hierarchy(const char *cgpath, const struct cg_files *files, struct procmem *out)
{
	char dir[PATH_MAX];
	size_t top = 0;

	if (cgpath[0] != '/' || cgroup_dir(files->version, cgpath, dir, sizeof(dir), &top))
		return -1;
	out->cg_limit = out->cg_usage = 0;
	if (walk_up(dir, top, files, out))
		return -1;
	out->cg_version = files->version;
	snprintf(out->cg_path, sizeof(out->cg_path), "%s", cgpath);
	return 0;
}

void procmem_parse_cgroup_line(char *line, char *v1, char *v2, size_t size)
{
	char *ctl, *cg, *nl;

	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	ctl = strchr(line, ':');
	cg = ctl ? strchr(ctl + 1, ':') : NULL;
	if (!cg)
		return;
	*ctl++ = '\0';
	*cg++ = '\0';
	if (!strcmp(line, "0") && !*ctl)
		snprintf(v2, size, "%s", cg);
	else if (has_item(ctl, "memory"))
		snprintf(v1, size, "%s", cg);
}

/* From /proc/PID/cgroup: the v1 memory path and the v2 path, "" when absent. */
static void cgroup_paths(int pid, char *v1, char *v2, size_t size)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	v1[0] = v2[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0)
		procmem_parse_cgroup_line(line, v1, v2, size);
	free(line);
	fclose(f);
}

static void read_cgroup(int pid, struct procmem *out)
{
	char v1[sizeof(out->cg_path)], v2[sizeof(out->cg_path)];

	cgroup_paths(pid, v1, v2, sizeof(v1));
	if (v1[0] && !read_hierarchy(v1, &v1_files, out))
		return;
	if (v2[0] && !read_hierarchy(v2, &v2_files, out))
		return;
	out->cg_limit = out->cg_usage = 0;
	out->cg_version = 0;
	snprintf(out->cg_path, sizeof(out->cg_path), "%s", v1[0] ? v1 : v2);
}

int procmem_read(int pid, struct procmem *out)
{
	char path[64], buf[16384];
	struct procmem m;
	int n;

	if (!out)
		return -EINVAL;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = safeio_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : n;
	memset(&m, 0, sizeof(m));
	procmem_parse_status(buf, &m);
	read_cgroup(pid, &m);
	*out = m; /* only now: a caller may keep the last reading of a process that is gone */
	return 0;
}
