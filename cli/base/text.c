// SPDX-License-Identifier: GPL-2.0
/* text.c - names from a target made safe to print (see text.h). */
#include <stdio.h>
#include <string.h>
#include "base/text.h"

size_t text_utf8_len(const char *str, size_t n)
{
	const unsigned char *p = (const unsigned char *)str;
	unsigned int c;
	size_t len, i;

	if (!n)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4) /* a continuation byte, an overlong 2-byte lead */
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	c = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/* Length of the valid, printable UTF-8 sequence at p (n bytes left), 0 if none: not
 * ASCII, not a C1 control (U+0080..U+009F, the two bytes 0xc2 0x80..0x9f). */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80 || (p[0] == 0xc2 && n > 1 && p[1] < 0xa0))
		return 0;
	return text_utf8_len((const char *)p, n);
}

size_t text_escape(char *dst, size_t len, const char *src, size_t srclen)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, i = 0;

	if (!len)
		return 0;
	while (i < srclen && p[i]) {
		size_t u = p[i] >= 0x80 ? utf8_printable(p + i, srclen - i) : 0;
		char esc[8];
		const char *out;
		size_t n;

		if (u) {
			out = (const char *)p + i;
			n = u;
		} else if (p[i] == '\\') {
			out = "\\\\";
			n = 2;
		} else if (p[i] < 0x20 || p[i] >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			out = esc;
			n = 4;
		} else {
			out = (const char *)p + i;
			n = 1;
		}
		if (o + n >= len)
			break;
		memcpy(dst + o, out, n);
		o += n;
		i += u ? u : 1;
	}
	dst[o] = '\0';
	return o;
}

void text_sanitize(char *s, size_t cap)
{
	char tmp[4096];
	size_t n = strnlen(s, cap);

	if (cap > sizeof(tmp))
		cap = sizeof(tmp);
	text_escape(tmp, cap, s, n);
	memcpy(s, tmp, strlen(tmp) + 1);
}
