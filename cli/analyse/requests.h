/* SPDX-License-Identifier: GPL-2.0 */
/* requests.h - the x axis of the trend: how many requests a target has handled. */
#ifndef AL_REQUESTS_H
#define AL_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include "collect/attach.h"

enum req_kind {
	REQ_TIME,   /* no source: verdicts per hour of time */
	REQ_UPROBE, /* uprobe:PATH:SYMBOL */
	REQ_USDT,   /* usdt:PATH:PROVIDER:NAME */
	REQ_ACCEPT, /* accept: connections accepted */
	REQ_HTTP,   /* http: HTTP/1.x requests read from sockets */
	REQ_METRIC, /* metric:URL:NAME */
};

struct req_source;

/* Parse --requests SPEC (NULL: time). NULL with a one-line reason in err. */
struct req_source *requests_parse(const char *spec, char *err, size_t errlen);
void requests_free(struct req_source *r);
enum req_kind requests_kind(const struct req_source *r);
const char *requests_describe(const struct req_source *r);
/* Attach what the source needs for one target; a metric source is fetched once here,
 * so an unreachable endpoint or a missing metric is an error at start. */
int requests_attach(struct req_source *r, struct attacher *a, int pid, char *err, size_t errlen);
/* Requests handled by pid so far (monotonic). A problem that appears later (endpoint
 * down, counter reset) goes to warn (empty otherwise) and the last good count is kept. */
double requests_read(struct req_source *r, struct attacher *a, int pid, char *warn, size_t warnlen);

#endif
