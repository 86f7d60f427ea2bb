// SPDX-License-Identifier: GPL-2.0
/* options.c - the table-driven command line (see options.h): --help text, getopt_long()
 * arrays and value checks from one table. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "base/options.h"

/* getopt_long()'s value of a long-only option: this plus its index. Each option has its
 * own value, so an abbreviation that fits two options stays ambiguous. */
#define LONG_ONLY_VAL 256

/* The option rows of a table, includes expanded, and getopt_long()'s view of them. */
struct getopt_view {
	const struct opt **rows;
	int n;
	struct option *longs;
	char *shorts;
};

int opt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int opt_whole(const char *s, const char *what, long min, long max, long *v, char *err,
              size_t errlen)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno || end == s || *end || *v < min || *v > max)
		return opt_fail(
		    err, errlen,
		    "invalid %s '%s': expected a whole number from %ld to %ld (see --help)", what,
		    s, min, max);
	return 0;
}

int opt_seconds(const char *s, const char *what, double *v, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	/* Decimal only: strtod would take "0x1", "inf" and leading blanks too. */
	if (errno || end == s || *end || strspn(s, "0123456789.") != strlen(s) || !(*v > 0) ||
	    *v > 31536000)
		return opt_fail(err, errlen,
		                "invalid %s '%s': expected a number of seconds > 0 (see --help)",
		                what, s);
	return 0;
}

int opt_bytes(const char *s, const char *what, double *v, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || strspn(s, "0123456789.eE+") != strlen(s) || !(*v >= 0) ||
	    *v > 1e18)
		return opt_fail(err, errlen,
		                "invalid %s '%s': expected a number of bytes >= 0 (see --help)",
		                what, s);
	return 0;
}

/* The index of s in choices, or -1 with "expected a, b or c" in err. */
static int choice(const char *const *choices, const char *s, const char *what, char *err,
                  size_t errlen)
{
	size_t used;
	int i;

	for (i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return i;
	snprintf(err, errlen, "invalid %s '%s': expected ", what, s);
	for (i = 0; choices[i]; i++) {
		used = strlen(err);
		snprintf(err + used, errlen - used, "%s%s",
		         !i               ? ""
		         : choices[i + 1] ? ", "
		                          : " or ",
		         choices[i]);
	}
	used = strlen(err);
	snprintf(err + used, errlen - used, " (see --help)");
	return -1;
}

/* An int (or enum) field, or a 64-bit one. */
static void store_whole(void *field, size_t size, long v)
{
	int i = v;
	long long ll = v;

	if (size == sizeof(i))
		memcpy(field, &i, sizeof(i));
	else if (size == sizeof(ll))
		memcpy(field, &ll, sizeof(ll));
}

/* Check the value of option o and store it in cfg. */
static int store(const struct opt *o, void *cfg, const char *arg, char *err, size_t errlen)
{
	void *field = (char *)cfg + o->off;
	char what[80];
	double d;
	long l;
	int i;

	snprintf(what, sizeof(what), "--%s", o->name);
	switch (o->kind) {
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_STRING:
		*(const char **)field = arg;
		return 0;
	case OPT_WHOLE:
		if (opt_whole(arg, what, o->min, o->max, &l, err, errlen))
			return -1;
		store_whole(field, o->size, l);
		return 0;
	case OPT_SECONDS:
	case OPT_BYTES:
		if (o->kind == OPT_SECONDS ? opt_seconds(arg, what, &d, err, errlen)
		                           : opt_bytes(arg, what, &d, err, errlen))
			return -1;
		memcpy(field, &d, sizeof(d));
		return 0;
	case OPT_CHOICE:
		i = choice(o->choices, arg, what, err, errlen);
		if (i < 0)
			return -1;
		store_whole(field, o->size, i);
		return 0;
	case OPT_CALL:
		return o->call(cfg, o->name, arg, err, errlen);
	default:
		return 0;
	}
}

/* The option rows of table, includes expanded, into rows[0..max-1]. Returns how many
 * there are (rows may be NULL to count them), or -1 when an include failed. */
static int flatten(const struct opt *t, const struct opt **rows, int n, int max)
{
	for (; t->kind != OPT_END && n >= 0; t++) {
		if (t->kind == OPT_INCLUDE)
			n = t->include() ? flatten(t->include(), rows, n, max) : -1;
		else if (t->kind != OPT_TEXT) {
			if (n < max)
				rows[n] = t;
			n++;
		}
	}
	return n;
}

static void view_free(struct getopt_view *v)
{
	free(v->rows);
	free(v->longs);
	free(v->shorts);
}

/* getopt_long()'s arrays; the short-option string starts with ':' so that a missing
 * value reads ':', not '?'. */
static int view_build(struct getopt_view *v, const struct opt *table)
{
	int i, k = 0;

	*v = (struct getopt_view){.n = flatten(table, NULL, 0, 0)};
	if (v->n < 0)
		return -1;
	v->rows = calloc(v->n + 1, sizeof(*v->rows));
	v->longs = calloc(v->n + 1, sizeof(*v->longs));
	v->shorts = malloc(2 * v->n + 2);
	if (!v->rows || !v->longs || !v->shorts || flatten(table, v->rows, 0, v->n) != v->n) {
		view_free(v);
		return -1;
	}
	v->shorts[k++] = ':';
	for (i = 0; i < v->n; i++) {
		const struct opt *o = v->rows[i];

		v->longs[i] = (struct option){o->name, o->arg ? required_argument : no_argument,
		                              NULL, o->key ? o->key : LONG_ONLY_VAL + i};
		if (o->key) {
			v->shorts[k++] = o->key;
			if (o->arg)
				v->shorts[k++] = ':';
		}
	}
	v->shorts[k] = '\0';
	return 0;
}

/* The row getopt_long() answered val for, or NULL ('?': unknown, ambiguous). */
static const struct opt *view_row(const struct getopt_view *v, int val)
{
	int i;

	if (val >= LONG_ONLY_VAL && val < LONG_ONLY_VAL + v->n)
		return v->rows[val - LONG_ONLY_VAL];
	for (i = 0; i < v->n; i++)
		if (v->rows[i]->key == val)
			return v->rows[i];
	return NULL;
}

int opt_parse(const struct opt *table, void *cfg, int argc, char **argv, int *first, char *err,
              size_t errlen)
{
	const struct opt *o;
	struct getopt_view v;
	int val, r = 0;

	if (view_build(&v, table))
		return opt_fail(err, errlen, "out of memory");
	optind = 0; /* start over: getopt_long() keeps its place between calls */
	opterr = 0;
	while (!r && (val = getopt_long(argc, argv, v.shorts, v.longs, NULL)) != -1) {
		o = val == ':' ? NULL : view_row(&v, val);
		if (val == ':')
			r = opt_fail(err, errlen, "option '%s' needs a value (see --help)",
			             argv[optind - 1]);
		else if (!o)
			r = opt_fail(err, errlen, "unknown option '%s' (see --help)",
			             argv[optind - 1]);
		else if (o->kind == OPT_HELP)
			r = opt_usage(stdout, table) ? opt_fail(err, errlen, "out of memory")
			                             : OPT_STOP;
		else
			r = store(o, cfg, optarg, err, errlen);
	}
	*first = optind;
	view_free(&v);
	return r;
}

/* "  -k, --name ARG" or "      --name ARG", then the help lines from the help column. */
static void usage_row(FILE *f, const struct opt *o)
{
	const char *line = o->help ? o->help : "", *nl;
	int n;

	if (o->key)
		n = fprintf(f, "  -%c, --%s", o->key, o->name);
	else
		n = fprintf(f, "      --%s", o->name);
	if (o->arg)
		n += fprintf(f, " %s", o->arg);
	fprintf(f, "%*s", n + 2 > OPT_HELP_COLUMN ? 2 : OPT_HELP_COLUMN - n, "");
	while ((nl = strchr(line, '\n'))) {
		fprintf(f, "%.*s\n%*s", (int)(nl - line), line, OPT_HELP_COLUMN, "");
		line = nl + 1;
	}
	fprintf(f, "%s\n", line);
}

int opt_usage(FILE *f, const struct opt *t)
{
	for (; t->kind != OPT_END; t++) {
		if (t->kind == OPT_TEXT)
			fputs(t->help, f);
		else if (t->kind != OPT_INCLUDE)
			usage_row(f, t);
		else if (!t->include() || opt_usage(f, t->include()))
			return -1;
	}
	return 0;
}
