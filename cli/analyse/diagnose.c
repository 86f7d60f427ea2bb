// SPDX-License-Identifier: GPL-2.0
/* diagnose.c - the --mode auto window schedule (see diagnose.h). */
#include "analyse/diagnose.h"

void diag_init(struct diagnosis *d, double length, double gap)
{
	*d =
	    (struct diagnosis){.length = length, .gap = gap < 0 ? DIAG_QUIET_FACTOR * length : gap};
}

enum diag_action diag_step(struct diagnosis *d, double now, bool growing)
{
	if (d->open) {
		if (now < d->until)
			return DIAG_NONE;
		d->open = false;
		d->next_allowed = now + d->gap;
		return DIAG_CLOSE;
	}
	if (!growing || d->stopped || now < d->next_allowed)
		return DIAG_NONE;
	d->open = true;
	d->number++;
	d->until = now + d->length;
	return DIAG_OPEN;
}

void diag_stop(struct diagnosis *d)
{
	if (d->open)
		d->number--;
	d->open = false;
	d->stopped = true;
}

double diag_left(const struct diagnosis *d, double now)
{
	return d->open && d->until > now ? d->until - now : 0;
}
