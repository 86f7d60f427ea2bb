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
#include <sys/stat.h>
#include "folded.h"
#include "html.h"
#include "httpd.h"
#include "json.h"
#include "output.h"
#include "pprof.h"
#include "prom.h"
#include "report.h"

struct outputs {
	struct output_opts o;
	FILE *json_file;
	struct httpd *httpd;
};

static void warn(const char *what, const char *msg)
{
	fprintf(stderr, "agentleak: warning: %s: %s\n", what, msg);
}

static FILE *open_json_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;

	if (!lstat(path, &st) && (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "--json-file %s: is a %s", path,
		         S_ISDIR(st.st_mode) ? "directory" : "symbolic link (refused)");
		return NULL;
	}
	f = fopen(path, "a");
	if (!f)
		snprintf(err, errlen, "--json-file %s: %s", path, strerror(errno));
	return f;
}

/* "9464" means 127.0.0.1:9464: never listen on every interface by surprise. */
static void listen_address(const char *arg, char *buf, size_t len)
{
	if (strspn(arg, "0123456789") == strlen(arg))
		snprintf(buf, len, "127.0.0.1:%s", arg);
	else
		snprintf(buf, len, "%s", arg);
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

static int check_paths(const struct output_opts *o, char *err, size_t errlen)
{
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
	if (o->json_file && !(out->json_file = open_json_file(o->json_file, err, errlen)))
		goto fail;
	if (o->listen) {
		listen_address(o->listen, addr, sizeof(addr));
		out->httpd = httpd_open(addr, err, errlen);
		if (!out->httpd)
			goto fail;
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
		warn("--prom-file", err);
	if (!out->httpd)
		return;
	if (prom_render(snap, out->o.top, &body, &len)) {
		warn("--listen", "cannot render the metrics");
		return;
	}
	httpd_set_body(out->httpd, body, len);
	free(body);
}

static void write_files(struct outputs *out, const struct snapshot *snap, bool all)
{
	char err[512];

	if (out->o.pprof && pprof_write(out->o.pprof, snap, err, sizeof(err)))
		warn("--pprof", err);
	if (out->o.html && html_write(out->o.html, snap, out->o.top, err, sizeof(err)))
		warn("--html", err);
	if (all && out->o.folded && folded_write(out->o.folded, snap, err, sizeof(err)))
		warn("--folded", err);
}

void outputs_report(struct outputs *out, const struct snapshot *snap)
{
	if (out->o.json) {
		json_write(stdout, snap, out->o.top);
		fflush(stdout);
	} else {
		report_print(stdout, snap, out->o.top, out->o.stack_depth);
	}
	if (out->json_file) {
		json_write(out->json_file, snap, out->o.top);
		if (fflush(out->json_file))
			warn("--json-file", strerror(errno));
	}
	write_prometheus(out, snap);
	if (snap->final)
		write_files(out, snap, true);
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

void outputs_close(struct outputs *out)
{
	if (!out)
		return;
	if (out->o.prom_file && !out->o.keep)
		prom_remove_textfile(out->o.prom_file);
	if (out->json_file)
		fclose(out->json_file);
	httpd_close(out->httpd);
	free(out);
}
