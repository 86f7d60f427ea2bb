/* SPDX-License-Identifier: GPL-2.0 */
/* vmread.h - read another process's memory: all of it, or an error.
 *
 * process_vm_readv, no ptrace stop: the target runs on, so what is read may be
 * changing under the reader; callers bound and check everything they read. Needs
 * _GNU_SOURCE (process_vm_readv), defined before the first include.
 */
#ifndef AL_VMREAD_H
#define AL_VMREAD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* len bytes at addr in process pid into buf: 0, -EFAULT when only part of it could be
 * read, or -errno. */
static inline int vm_read(int pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EFAULT;
}

#endif
