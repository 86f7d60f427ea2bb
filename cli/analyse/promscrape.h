/* SPDX-License-Identifier: GPL-2.0 */
/* promscrape.h - read a counter from an application's own Prometheus endpoint.
 *
 * "--requests metric:URL:NAME" takes the x axis (requests handled so far) from a
 * counter the service already exports, e.g.
 * metric:http://127.0.0.1:8000/metrics:http_requests_total. This module fetches
 * the page over plain HTTP (no TLS, no DNS), sums every sample of NAME over its
 * label sets, and helps the caller turn counter resets into a monotonic series.
 * The parser and the counter helper are pure code: unit tested.
 */
#ifndef AL_PROMSCRAPE_H
#define AL_PROMSCRAPE_H

#include <stddef.h>

#define PROM_MAX_RESPONSE (8 << 20) /* bytes, headers included */

struct prom_source;

/* spec is "URL:NAME" (the part after "metric:"); NAME is after the LAST ':'.
 * URL is http://HOST:PORT[/PATH] with HOST an IPv4 literal, "localhost" or a
 * bracketed IPv6 literal ([::1]); the port is required, PATH defaults to "/".
 * Returns NULL with err set for a malformed spec (or out of memory).
 */
struct prom_source *prom_open(const char *spec, char *err, size_t errlen);
void prom_close(struct prom_source *p);

/* Fetch now (HTTP/1.0 GET, Connection: close, total timeout timeout_ms, response
 * capped at PROM_MAX_RESPONSE) and return in *value the sum of every sample of
 * NAME over all its label sets. Each failure has its own message: connection
 * refused, timed out, HTTP status not 200, response too large, metric not found,
 * unparsable or non-finite value. Returns 0 or -1.
 */
int prom_fetch(struct prom_source *p, int timeout_ms, double *value, char *err, size_t errlen);

/* Sum of the samples named exactly `name` in the Prometheus text exposition
 * format `text` (len bytes, need not be NUL-terminated). Returns the number of
 * samples matched (0: not found, *sum = 0), or -1 when a line with that name is
 * malformed. Other lines are not checked.
 */
int prom_sum(const char *text, size_t len, const char *name, double *sum);

/* Turns raw counter readings into a monotonic series across counter resets
 * (the service restarted). Zero-initialise before the first update.
 */
struct prom_counter {
	double last, offset;
	int have;
	int resets;
};

/* Feed a raw reading; returns raw + offset. When raw goes below the previous
 * reading, the previous reading is added to offset and resets is incremented so
 * the caller can warn. A NaN reading is ignored (the current value is returned).
 */
double prom_counter_update(struct prom_counter *c, double raw);

#endif
