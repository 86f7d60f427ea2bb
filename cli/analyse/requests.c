// SPDX-License-Identifier: GPL-2.0
/* requests.c - request counters, the x axis of the leak trend.
 *
 * A leak grows with every request, a cache stops growing: plotting live bytes against
 * the number of requests (not time) tells them apart under any load. Sources: a uprobe
 * on the function that handles a request, a USDT probe, accepted connections (all
 * three counted in the kernel per process), or a counter read from the application's
 * own Prometheus endpoint on loopback. Without a source the x axis is time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "analyse/promscrape.h"
#include "analyse/requests.h"

#define METRIC_TIMEOUT_MS 150

struct req_source {
	enum req_kind kind;
	char spec[1024];
	char path[512], a[256], b[256]; /* uprobe: symbol in a; usdt: provider a, name b */
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

static int parse_probe(struct req_source *r, char *rest, char *err, size_t errlen)
{
	char *sym, *name = NULL;

	sym = split(rest);
	if (sym && r->kind == REQ_USDT)
		name = split(sym);
	if (!sym || !*rest || !*sym || (r->kind == REQ_USDT && (!name || !*name))) {
		snprintf(err, errlen, "invalid --requests '%s': expected %s", r->spec,
		         r->kind == REQ_UPROBE ? "uprobe:PATH:SYMBOL" : "usdt:PATH:PROVIDER:NAME");
		return -1;
	}
	snprintf(r->path, sizeof(r->path), "%s", rest);
	snprintf(r->a, sizeof(r->a), "%s", sym);
	if (name)
		snprintf(r->b, sizeof(r->b), "%s", name);
	return 0;
}

struct req_source *requests_parse(const char *spec, char *err, size_t errlen)
{
	struct req_source *r = calloc(1, sizeof(*r));
	char buf[1024], *rest;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->kind = REQ_TIME;
	if (!spec)
		return r;
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	rest = split(buf);
	if (!strcmp(buf, "accept") && !rest) {
		r->kind = REQ_ACCEPT;
		return r;
	}
	if (rest && !strcmp(buf, "uprobe"))
		r->kind = REQ_UPROBE;
	else if (rest && !strcmp(buf, "usdt"))
		r->kind = REQ_USDT;
	else if (rest && !strcmp(buf, "metric"))
		r->kind = REQ_METRIC;
	else {
		snprintf(err, errlen,
		         "invalid --requests '%s': expected uprobe:PATH:SYMBOL, "
		         "usdt:PATH:PROVIDER:NAME, accept or metric:URL:NAME",
		         spec);
		goto fail;
	}
	if (r->kind == REQ_METRIC) {
		r->prom = prom_open(rest, err, errlen);
		if (!r->prom)
			goto fail;
		return r;
	}
	if (parse_probe(r, rest, err, errlen))
		goto fail;
	return r;
fail:
	free(r);
	return NULL;
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
	char msg[512];
	double v;

	switch (r->kind) {
	case REQ_UPROBE:
		return attach_request_uprobe(a, pid, r->path, r->a, err, errlen);
	case REQ_USDT:
		return attach_request_usdt(a, pid, r->path, r->a, r->b, err, errlen);
	case REQ_METRIC:
		if (prom_fetch(r->prom, 1000, &v, msg, sizeof(msg))) {
			snprintf(err, errlen, "request source %s: %s", r->spec, msg);
			return -1;
		}
		prom_counter_update(&r->counter, v);
		return 0;
	default:
		return 0;
	}
}

static double read_metric(struct req_source *r, char *warn, size_t warnlen)
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

double requests_read(struct req_source *r, struct attacher *a, int pid, char *warn, size_t warnlen)
{
	__u32 key = pid;
	__u64 n = 0;

	warn[0] = '\0';
	switch (r->kind) {
	case REQ_METRIC:
		return read_metric(r, warn, warnlen);
	case REQ_TIME:
		return 0;
	default:
		bpf_map_lookup_elem(attach_map_fd(a, ATTACH_MAP_REQUESTS), &key, &n);
		return (double)n;
	}
}
