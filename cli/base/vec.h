/* SPDX-License-Identifier: GPL-2.0 */
/* vec.h - growable arrays: one "make room for n more" for every array agentleak appends to.
 *
 * An array is a pointer, a count and a capacity, kept by its owner (any integer types);
 * VEC_GROW() reallocates it when it is full, doubling the capacity, with the overflow
 * checks that a hand-written "cap * 2 * sizeof(*v)" forgets.
 */
#ifndef AL_VEC_H
#define AL_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define VEC_MIN 16 /* elements in a first allocation */

/* The capacity that holds need elements of elem bytes: cap (VEC_MIN when 0) doubled as
 * often as it takes. 0 when so many bytes cannot be asked for. */
static inline size_t vec_capacity(size_t cap, size_t need, size_t elem)
{
	size_t c = cap ? cap : VEC_MIN;

	while (c < need) {
		if (c > SIZE_MAX / 2)
			return 0;
		c *= 2;
	}
	return c > SIZE_MAX / elem ? 0 : c;
}

/* Make room for need elements in the array v (a pointer lvalue, NULL at first) whose
 * capacity is cap (an lvalue of any integer type): reallocated to vec_capacity() elements
 * when it holds fewer. 0, or -ENOMEM with v and cap unchanged (out of memory, or a
 * capacity beyond what cap's type holds). v and cap are evaluated more than once. */
#define VEC_GROW(v, cap, need)                                                                     \
	({                                                                                         \
		size_t need_ = (need), cap_ = (size_t)(cap), new_;                                 \
		void *p_ = NULL;                                                                   \
		int r_ = 0;                                                                        \
                                                                                                   \
		if (need_ > cap_) {                                                                \
			new_ = vec_capacity(cap_, need_, sizeof(*(v)));                            \
			if (new_ && (size_t)(__typeof__(cap))new_ == new_)                         \
				p_ = realloc((v), new_ * sizeof(*(v)));                            \
			if (p_) {                                                                  \
				(v) = p_;                                                          \
				(cap) = new_;                                                      \
			} else {                                                                   \
				r_ = -ENOMEM;                                                      \
			}                                                                          \
		}                                                                                  \
		r_;                                                                                \
	})

#endif
