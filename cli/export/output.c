// SPDX-License-Identifier: GPL-2.0
/* output.c - send each report where the user asked.
 *
 * The text report (or JSON lines) goes to stdout every interval; --json-file gets the
 * same JSON lines appended; --prom-file is rewritten atomically and --listen serves the
 * same text at /metrics; --pprof, --folded and --html are written at exit (pprof and
 * HTML also on SIGUSR1). Every path is checked before tracing starts, so a typo fails
 * in a second with one line instead of after an hour of tracing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/folded.h"
#include "export/html.h"
#include "export/httpd.h"
#include "export/json.h"
#include "export/outfile.h"
#include "export/output.h"
#include "export/pprof.h"
#include "export/prom.h"
#include "export/report.h"

struct outputs {
	struct output_opts o;
	FILE *json_file;
	struct httpd *httpd;
	int failed; /* writes that failed */
	char first_failure[600];
	bool stdout_closed; /* EPIPE: the reader of stdout went away */
};

static const struct output_option options[] = {
    {"prom-file", "PATH",
     "Prometheus textfile (node_exporter textfile collector),\n"
     "rewritten atomically every INTERVAL; removed at exit"},
    {"keep", NULL, "keep the --prom-file at exit"},
    {"listen", "[ADDR:]PORT",
     "serve the same metrics at http://ADDR:PORT/metrics\n(ADDR defaults to 127.0.0.1)"},
    {"pprof", "FILE",
     "gzip profile.proto heap profile, at exit and on SIGUSR1\n"
     "(go tool pprof -top FILE; inuse_space by default)"},
    {"json", NULL, "one JSON object per report on stdout instead of text"},
    {"json-file", "FILE", "append one JSON object per report to FILE"},
    {"folded", "FILE", "folded stacks weighted by live bytes, at exit (flamegraph)"},
    {"html", "FILE", "a self-contained HTML report, at exit and on SIGUSR1"},
    {NULL, NULL, NULL},
};

const struct output_option *outputs_options(void)
{
	return options;
}

int outputs_set(struct output_opts *o, const char *name, const char *arg, char *err, size_t errlen)
{
	if (!strcmp(name, "prom-file"))
		o->prom_file = arg;
	else if (!strcmp(name, "keep"))
		o->keep = true;
	else if (!strcmp(name, "listen"))
		o->listen = arg;
	else if (!strcmp(name, "pprof"))
		o->pprof = arg;
	else if (!strcmp(name, "json"))
		o->json = true;
	else if (!strcmp(name, "json-file"))
		o->json_file = arg;
	else if (!strcmp(name, "folded"))
		o->folded = arg;
	else if (!strcmp(name, "html"))
		o->html = arg;
	else {
		snprintf(err, errlen, "--%s is no output's option", name);
		return -1;
	}
	return 0;
}

/* A failed write: a warning now, and an error exit at the end (outputs_close). */
static void failed(struct outputs *out, const char *what, const char *msg)
{
	fprintf(stderr, "agentleak: warning: %s: %s\n", what, msg);
	if (!out->failed++)
		snprintf(out->first_failure, sizeof(out->first_failure), "%s: %s", what, msg);
}

/* stdout after a report: a closed pipe ends the run; other errors are failures. */
static void check_stdout(struct outputs *out)
{
	if (fflush(stdout) != EOF && !ferror(stdout))
		return;
	if (errno == EPIPE) {
		out->stdout_closed = true;
		return;
	}
	failed(out, "standard output", strerror(errno ? errno : EIO));
	clearerr(stdout);
}

/* "9464" means 127.0.0.1:9464: never listen on every interface by surprise. */
static void listen_address(const char *arg, char *buf, size_t len)
{
	if (strspn(arg, "0123456789") == strlen(arg))
		snprintf(buf, len, "127.0.0.1:%s", arg);
	else
		snprintf(buf, len, "%s", arg);
}

/* Where the metrics are served; a warning when every interface can reach them. */
static void say_listening(const char *addr, int port)
{
	const char *colon = strrchr(addr, ':');
	int hostlen = colon ? (int)(colon - addr) : 0;

	fprintf(stderr, "agentleak: metrics at http://%.*s:%d/metrics\n", hostlen, addr, port);
	if ((hostlen == 7 && !strncmp(addr, "0.0.0.0", 7)) ||
	    (hostlen == 4 && !strncmp(addr, "[::]", 4)) || hostlen == 0)
		fprintf(stderr,
		        "agentleak: warning: --listen %s: every network interface can reach the "
		        "metrics (process names, stacks); bind 127.0.0.1 or a private address\n",
		        addr);
}

/* Prefix a path check's message with the option it came from. */
static int checked(const char *opt, int r, char *err, size_t errlen)
{
	char msg[512];

	if (!r)
		return 0;
	if (!strncmp(err, opt, strlen(opt)))
		return -1; /* already says which option */
	snprintf(msg, sizeof(msg), "%s", err);
	snprintf(err, errlen, "%s: %s", opt, msg);
	return -1;
}

/* Two outputs on one file would destroy each other: refused. */
static int check_distinct(const struct output_opts *o, char *err, size_t errlen)
{
	const struct {
		const char *opt, *path;
	} files[] = {{"--prom-file", o->prom_file},
	             {"--pprof", o->pprof},
	             {"--folded", o->folded},
	             {"--html", o->html},
	             {"--json-file", o->json_file}};
	int n = sizeof(files) / sizeof(files[0]), i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; files[i].path && j < n; j++)
			if (files[j].path && outfile_same(files[i].path, files[j].path)) {
				snprintf(err, errlen,
				         "%s %s and %s %s are the same file: give each output its "
				         "own",
				         files[i].opt, files[i].path, files[j].opt, files[j].path);
				return -1;
			}
	return 0;
}

static int check_paths(const struct output_opts *o, char *err, size_t errlen)
{
	if (check_distinct(o, err, errlen))
		return -1;
	if (o->json_file &&
	    checked("--json-file", outfile_check(o->json_file, err, errlen), err, errlen))
		return -1;
	if (o->prom_file &&
	    checked("--prom-file", prom_check_path(o->prom_file, err, errlen), err, errlen))
		return -1;
	if (o->pprof && checked("--pprof", pprof_check_path(o->pprof, err, errlen), err, errlen))
		return -1;
	if (o->folded &&
	    checked("--folded", folded_check_path(o->folded, err, errlen), err, errlen))
		return -1;
	if (o->html && checked("--html", html_check_path(o->html, err, errlen), err, errlen))
		return -1;
	return 0;
}

struct outputs *outputs_open(const struct output_opts *o, char *err, size_t errlen)
{
	struct outputs *out = calloc(1, sizeof(*out));
	char addr[256];

	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	out->o = *o;
	if (check_paths(o, err, errlen))
		goto fail;
	if (o->json_file && !(out->json_file = outfile_append(o->json_file, err, errlen))) {
		checked("--json-file", -1, err, errlen);
		goto fail;
	}
	if (o->keep && !o->prom_file) {
		snprintf(err, errlen, "--keep keeps the --prom-file at exit: add --prom-file PATH");
		goto fail;
	}
	if (o->listen) {
		listen_address(o->listen, addr, sizeof(addr));
		out->httpd = httpd_open(addr, err, errlen);
		if (!out->httpd)
			goto fail;
		say_listening(addr, httpd_port(out->httpd));
	}
	return out;
fail:
	if (out->json_file)
		fclose(out->json_file);
	free(out);
	return NULL;
}

bool outputs_want_all_stacks(const struct outputs *out)
{
	return out->o.pprof || out->o.folded;
}

static void write_prometheus(struct outputs *out, const struct snapshot *snap)
{
	char err[512], *body;
	size_t len;

	if (out->o.prom_file &&
	    prom_write_textfile(out->o.prom_file, snap, out->o.top, err, sizeof(err)))
		failed(out, "--prom-file", err);
	if (!out->httpd)
		return;
	if (prom_render(snap, out->o.top, &body, &len)) {
		failed(out, "--listen", "cannot render the metrics");
		return;
	}
	httpd_set_body(out->httpd, body, len);
	free(body);
}

static void write_files(struct outputs *out, const struct snapshot *snap, bool all)
{
	char err[512];

	if (out->o.pprof && pprof_write(out->o.pprof, snap, err, sizeof(err)))
		failed(out, "--pprof", err);
	if (out->o.html && html_write(out->o.html, snap, out->o.top, err, sizeof(err)))
		failed(out, "--html", err);
	if (all && out->o.folded && folded_write(out->o.folded, snap, err, sizeof(err)))
		failed(out, "--folded", err);
}

int outputs_report(struct outputs *out, const struct snapshot *snap)
{
	int r;

	if (!out->stdout_closed) {
		if (out->o.json)
			json_write(stdout, snap, out->o.top);
		else
			report_print(stdout, snap, out->o.top, out->o.stack_depth);
		check_stdout(out);
	}
	if (out->json_file) {
		r = json_write(out->json_file, snap, out->o.top);
		if (r) {
			failed(out, "--json-file", strerror(-r));
			clearerr(out->json_file);
		}
	}
	write_prometheus(out, snap);
	if (snap->final)
		write_files(out, snap, true);
	return out->stdout_closed ? -EPIPE : 0;
}

void outputs_metrics(struct outputs *out, const struct snapshot *snap)
{
	write_prometheus(out, snap);
}

void outputs_dump(struct outputs *out, const struct snapshot *snap)
{
	write_files(out, snap, false);
}

void outputs_service(struct outputs *out)
{
	if (out->httpd)
		httpd_service(out->httpd);
}

int outputs_close(struct outputs *out)
{
	int r = 0;

	if (!out)
		return 0;
	if (out->o.prom_file && !out->o.keep)
		prom_remove_textfile(out->o.prom_file);
	if (out->json_file && fclose(out->json_file))
		failed(out, "--json-file", strerror(errno));
	if (out->stdout_closed) {
		fprintf(stderr, "agentleak: standard output was closed (broken pipe): stopped; the "
		                "final report was not printed\n");
		r = -1;
	} else if (out->failed) {
		fprintf(stderr, "agentleak: %d write(s) failed, output was lost (first: %s)\n",
		        out->failed, out->first_failure);
		r = -1;
	}
	httpd_close(out->httpd);
	outfile_release_all();
	free(out);
	return r;
}
