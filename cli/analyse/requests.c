// SPDX-License-Identifier: GPL-2.0
/* requests.c - request counters, the x axis of the leak trend.
 *
 * A leak grows with every request, a cache stops growing: plotting live bytes against
 * the number of requests (not time) tells them apart under any load. Sources: a uprobe
 * on the function that handles a request, a USDT probe, accepted connections, the
 * socket reads that start with an HTTP/1.x request line (all four counted in the
 * kernel per process), or a counter read from the application's own Prometheus
 * endpoint on loopback. Without a source the x axis is time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "analyse/promscrape.h"
#include "analyse/requests.h"

#define METRIC_TIMEOUT_MS 150

struct source;

struct req_source {
	const struct source *src; /* its row of sources[] */
	enum req_kind kind;
	char spec[6144];
	char path[4096], a[1024], b[256]; /* uprobe: symbol in a; usdt: provider a, name b */
	struct prom_source *prom;
	struct prom_counter counter;
	int resets_reported;
	bool failing;
};

/* Split s at its first ':' into head and the rest. */
static char *split(char *s)
{
	char *c = strchr(s, ':');

	if (!c)
		return NULL;
	*c = '\0';
	return c + 1;
}

/* uprobe:PATH:SYMBOL and usdt:PATH:PROVIDER:NAME. */
static int parse_probe(struct req_source *r, char *rest, char *err, size_t errlen)
{
	char *sym, *name = NULL;

	sym = rest ? split(rest) : NULL;
	if (sym && r->kind == REQ_USDT)
		name = split(sym);
	if (!sym || !*rest || !*sym || (r->kind == REQ_USDT && (!name || !*name))) {
		snprintf(err, errlen, "invalid --requests '%s': expected %s", r->spec,
		         r->kind == REQ_UPROBE ? "uprobe:PATH:SYMBOL" : "usdt:PATH:PROVIDER:NAME");
		return -1;
	}
	/* Cut, they would name another file or symbol: refused (C++ names run long). */
	if (strlen(rest) >= sizeof(r->path) || strlen(sym) >= sizeof(r->a) ||
	    (name && strlen(name) >= sizeof(r->b))) {
		snprintf(err, errlen,
		         "invalid --requests: a PATH of more than %zu bytes, a SYMBOL or PROVIDER "
		         "of more than %zu or a NAME of more than %zu is not supported",
		         sizeof(r->path) - 1, sizeof(r->a) - 1, sizeof(r->b) - 1);
		return -1;
	}
	snprintf(r->path, sizeof(r->path), "%s", rest);
	snprintf(r->a, sizeof(r->a), "%s", sym);
	if (name)
		snprintf(r->b, sizeof(r->b), "%s", name);
	return 0;
}

static int parse_metric(struct req_source *r, char *rest, char *err, size_t errlen)
{
	r->prom = prom_open(rest, err, errlen);
	return r->prom ? 0 : -1;
}

static int attach_uprobe(struct req_source *r, struct attacher *a, int pid, char *err,
                         size_t errlen)
{
	return attach_request_uprobe(a, pid, r->path, r->a, err, errlen);
}

static int attach_usdt(struct req_source *r, struct attacher *a, int pid, char *err, size_t errlen)
{
	return attach_request_usdt(a, pid, r->path, r->a, r->b, err, errlen);
}

/* The endpoint is asked once at start: unreachable or no such metric is an error now. */
static int attach_metric(struct req_source *r, struct attacher *a, int pid, char *err,
                         size_t errlen)
{
	char msg[512];
	double v;

	if (prom_fetch(r->prom, 1000, &v, msg, sizeof(msg))) {
		snprintf(err, errlen, "request source %s: %s", r->spec, msg);
		return -1;
	}
	prom_counter_update(&r->counter, v);
	return 0;
}

/* The sources counted in the kernel, per process, in the requests map. */
static double read_kernel_count(struct req_source *r, struct attacher *a, int pid, char *warn,
                                size_t warnlen)
{
	__u32 key = pid;
	__u64 n = 0;

	bpf_map_lookup_elem(attach_map_fd(a, ATTACH_MAP_REQUESTS), &key, &n);
	return (double)n;
}

static double read_metric(struct req_source *r, struct attacher *a, int pid, char *warn,
                          size_t warnlen)
{
	char msg[512];
	double v;

	if (prom_fetch(r->prom, METRIC_TIMEOUT_MS, &v, msg, sizeof(msg))) {
		if (!r->failing)
			snprintf(warn, warnlen, "request source %s: %s (keeping the last count)",
			         r->spec, msg);
		r->failing = true;
		return r->counter.have ? r->counter.last + r->counter.offset : 0;
	}
	if (r->failing)
		snprintf(warn, warnlen, "request source %s answers again", r->spec);
	r->failing = false;
	v = prom_counter_update(&r->counter, v);
	if (r->counter.resets > r->resets_reported) {
		r->resets_reported = r->counter.resets;
		snprintf(warn, warnlen,
		         "request source %s: the counter went backwards (reset?): counting on "
		         "from %.0f",
		         r->spec, v);
	}
	return v;
}

/* Every request source, by the name its --requests spec starts with. A new source is
 * one row (and its REQ_ kind in requests.h; main tells attach which BPF program it
 * needs from the kind). */
static const struct source {
	enum req_kind kind;
	const char *name;
	bool has_args; /* NAME:ARGS, or NAME alone */
	int (*parse)(struct req_source *r, char *args, char *err, size_t errlen);
	int (*attach)(struct req_source *r, struct attacher *a, int pid, char *err, size_t errlen);
	double (*read)(struct req_source *r, struct attacher *a, int pid, char *warn,
	               size_t warnlen);
} sources[] = {
    {REQ_UPROBE, "uprobe", true, parse_probe, attach_uprobe, read_kernel_count},
    {REQ_USDT, "usdt", true, parse_probe, attach_usdt, read_kernel_count},
    {REQ_ACCEPT, "accept", false, NULL, NULL, read_kernel_count},
    {REQ_HTTP, "http", false, NULL, NULL, read_kernel_count},
    {REQ_METRIC, "metric", true, parse_metric, attach_metric, read_metric},
};
#define NSOURCES ((int)(sizeof(sources) / sizeof(sources[0])))

/* No --requests: the x axis is time, nothing to attach or read. */
static const struct source time_source = {.kind = REQ_TIME, .name = "time"};

struct req_source *requests_parse(const char *spec, char *err, size_t errlen)
{
	struct req_source *r = calloc(1, sizeof(*r));
	char buf[sizeof(r->spec)], *rest;
	int i;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->src = &time_source;
	r->kind = REQ_TIME;
	if (!spec)
		return r;
	if (strlen(spec) >= sizeof(r->spec)) {
		snprintf(err, errlen, "invalid --requests: longer than %zu bytes",
		         sizeof(r->spec) - 1);
		free(r);
		return NULL;
	}
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	rest = split(buf);
	for (i = 0; i < NSOURCES; i++)
		if (!strcmp(buf, sources[i].name) && !rest == !sources[i].has_args)
			break;
	if (i == NSOURCES) {
		snprintf(err, errlen,
		         "invalid --requests '%s': expected uprobe:PATH:SYMBOL, "
		         "usdt:PATH:PROVIDER:NAME, accept, http or metric:URL:NAME",
		         spec);
		free(r);
		return NULL;
	}
	r->src = &sources[i];
	r->kind = sources[i].kind;
	if (r->src->parse && r->src->parse(r, rest, err, errlen)) {
		free(r);
		return NULL;
	}
	return r;
}

void requests_free(struct req_source *r)
{
	if (!r)
		return;
	prom_close(r->prom);
	free(r);
}

enum req_kind requests_kind(const struct req_source *r)
{
	return r->kind;
}

const char *requests_describe(const struct req_source *r)
{
	return r->kind == REQ_TIME ? "time" : r->spec;
}

int requests_attach(struct req_source *r, struct attacher *a, int pid, char *err, size_t errlen)
{
	return r->src->attach ? r->src->attach(r, a, pid, err, errlen) : 0;
}

double requests_read(struct req_source *r, struct attacher *a, int pid, char *warn, size_t warnlen)
{
	warn[0] = '\0';
	return r->src->read ? r->src->read(r, a, pid, warn, warnlen) : 0;
}
