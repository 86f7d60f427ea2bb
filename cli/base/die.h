/* SPDX-License-Identifier: GPL-2.0 */
/* die.h - the end of a run that cannot go on: "agentleak: <message>" on stderr, exit 1. */
#ifndef AL_DIE_H
#define AL_DIE_H

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
