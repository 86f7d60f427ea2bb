// SPDX-License-Identifier: GPL-2.0
/* test_base.c - unit tests of what every module shares: cli/base/hash.h (FNV-1a, whose
 * values are published as stack ids and HTML colours), cli/base/vec.h (growable arrays),
 * cli/base/errbuf.c (error messages) and include/stack_key.h (stack keys).
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/errbuf.h"
#include "base/hash.h"
#include "base/vec.h"
#include "stack_key.h"

#include "check.h"

static void hashes(void)
{
	unsigned long long addr = 0x1234;
	uint64_t h;

	/* The published test vectors of FNV-1a. */
	CHECK(hash_fnv1a(HASH_FNV_INIT, "", 0) == 0xcbf29ce484222325ULL, "64-bit: empty");
	CHECK(hash_fnv1a(HASH_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "64-bit: \"a\"");
	CHECK(hash_fnv1a(HASH_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ULL,
	      "64-bit: \"foobar\"");
	CHECK(hash_fnv1a(hash_fnv1a(HASH_FNV_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ULL,
	      "64-bit: in two parts, the same");
	CHECK(hash_fnv1a32(HASH_FNV32_INIT, "a", 1) == 0xe40c292cU, "32-bit: \"a\"");
	CHECK(hash_fnv1a32(HASH_FNV32_INIT, "foobar", 6) == 0xbf9cf968U, "32-bit: \"foobar\"");
	CHECK(hash_fnv1a32(HASH_FNV32_INIT, NULL, 0) == HASH_FNV32_INIT, "32-bit: nothing");
	CHECK(hash_fnv1a_word(HASH_FNV_INIT, 7) == ((HASH_FNV_INIT ^ 7) * HASH_FNV_PRIME),
	      "a word is one step");
	/* A stack id as snapbuild.c makes it: kind, then per frame the module's base name and
	 * the module offset (8 bytes, little-endian). This value is in users' dashboards. */
	h = hash_fnv1a(HASH_FNV_INIT, "malloc", 6);
	h = hash_fnv1a(h, "leaky_service", 13);
	h = hash_fnv1a(h, &addr, sizeof(addr));
	CHECK((h & 0xffffffffffffULL) == 0x75f0d4d5a3c3ULL, "a stack id: %012llx",
	      (unsigned long long)(h & 0xffffffffffffULL));
}

static void vectors(void)
{
	struct item {
		int a;
		double b;
	} *v = NULL;
	char *bytes = NULL;
	size_t cap = 0, i;
	int icap = 0, r, ok = 1;
	unsigned char ucap = 0;

	CHECK(!VEC_GROW(v, cap, 0) && !v && !cap, "room for nothing: nothing allocated");
	CHECK(!VEC_GROW(v, cap, 1) && v && cap == VEC_MIN, "a first allocation of %d", VEC_MIN);
	for (i = 0; i < 1000; i++) {
		if (VEC_GROW(v, cap, i + 1)) {
			ok = 0;
			break;
		}
		v[i].a = (int)i;
	}
	for (i = 0; ok && i < 1000; i++)
		ok = v[i].a == (int)i;
	CHECK(ok && cap == 1024, "1000 appended, capacity doubled to %zu, contents kept", cap);
	CHECK(!VEC_GROW(v, cap, 1000) && cap == 1024, "enough room: unchanged");
	r = VEC_GROW(v, cap, SIZE_MAX / 2);
	CHECK(r == -ENOMEM && cap == 1024 && v[999].a == 999, "too large: -ENOMEM, array kept");
	free(v);
	v = NULL;
	CHECK(!VEC_GROW(v, icap, 100) && icap == 128, "an int capacity (%d)", icap);
	r = VEC_GROW(bytes, icap, (size_t)INT_MAX + 1);
	CHECK(r == -ENOMEM && icap == 128 && !bytes,
	      "a capacity an int cannot hold: -ENOMEM, nothing allocated");
	CHECK(!VEC_GROW(bytes, ucap, 100) && ucap == 128 && bytes, "a capacity in one byte (%u)",
	      ucap);
	CHECK(VEC_GROW(bytes, ucap, 200) == -ENOMEM && ucap == 128,
	      "and no more than one byte holds");
	CHECK(vec_capacity(0, 17, 8) == 32 && vec_capacity(100, 101, 1) == 200 &&
	          !vec_capacity(0, SIZE_MAX, 1) && !vec_capacity(0, SIZE_MAX / 4, 8),
	      "vec_capacity: doubling, overflow");
	free(v);
	free(bytes);
}

/* err_prefix() gives what snprintf(err, len, "%s: %s", prefix, message) gives, prefix
 * and message np and nm bytes long. */
static bool prefix_as_snprintf(size_t len, int np, int nm)
{
	static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char got[48], want[96];

	memset(got, 'X', sizeof(got));
	snprintf(got, len, "%.*s", nm, text + 1);
	err_prefix(got, len, "%.*s", np, text);
	snprintf(want, sizeof(want), "%.*s: %.*s", np, text, nm, text + 1);
	want[len - 1] = '\0'; /* where snprintf() cuts */
	if (!strcmp(got, want) && got[len] == 'X')
		return true;
	printf("# len %zu, prefix %d, message %d: '%s', not '%s'\n", len, np, nm, got, want);
	return false;
}

static void errors(void)
{
	char err[16], big[64];
	int np, nm, same;
	size_t len;

	CHECK(err_set(big, sizeof(big), "cannot %s: %d", "read", 5) == -1 &&
	          !strcmp(big, "cannot read: 5"),
	      "err_set formats, returns -1 (%s)", big);
	CHECK(err_set(NULL, 10, "x") == -1 && err_set(big, 0, "x") == -1 &&
	          !strcmp(big, "cannot read: 5"),
	      "err_set: no buffer, no size");
	CHECK(err_set(err, sizeof(err), "%s", "0123456789abcdefghij") == -1 &&
	          !strcmp(err, "0123456789abcde"),
	      "err_set cuts (%s)", err);
	snprintf(big, sizeof(big), "permission denied");
	CHECK(err_prefix(big, sizeof(big), "--pprof %s", "x.pb.gz") == -1 &&
	          !strcmp(big, "--pprof x.pb.gz: permission denied"),
	      "err_prefix (%s)", big);
	snprintf(err, sizeof(err), "no such file");
	err_prefix(err, sizeof(err), "--html");
	CHECK(!strcmp(err, "--html: no such"), "err_prefix cuts the message (%s)", err);
	snprintf(err, sizeof(err), "x");
	err_prefix(err, sizeof(err), "%s", "a long option name");
	CHECK(!strcmp(err, "a long option n"), "err_prefix cuts the prefix (%s)", err);
	snprintf(err, sizeof(err), "x");
	err_prefix(err, 1, "opt");
	CHECK(!err[0], "err_prefix in one byte");
	err[0] = '\0';
	err_prefix(err, sizeof(err), "opt");
	CHECK(!strcmp(err, "opt: "), "err_prefix of no message (%s)", err);
	for (len = 1, same = true; len <= 40; len++)
		for (np = 0; np < 38; np += 3)
			for (nm = 0; nm < 38; nm += 2)
				same = same && prefix_as_snprintf(len, np, nm);
	CHECK(same, "err_prefix as snprintf, every size of buffer, prefix, message");
}

static void stack_keys(void)
{
	struct al_stack_key a = {.tgid = 10, .stackid = 3, .caller = 0x400000, .kind = AL_MALLOC};
	struct al_stack_key b = a, c = a;

	b.pad = 7;
	CHECK(al_stack_key_equal(&a, &b) && al_stack_key_hash(&a) == al_stack_key_hash(&b) &&
	          !al_stack_key_cmp(&a, &b),
	      "the padding does not count");
	c.stackid = -1;
	CHECK(!al_stack_key_equal(&a, &c) && al_stack_key_cmp(&c, &a) < 0 &&
	          al_stack_key_cmp(&a, &c) > 0,
	      "stack id: differs, -1 first");
	c = a;
	c.kind = AL_FREE;
	c.stackid = -5;
	CHECK(al_stack_key_cmp(&a, &c) < 0, "kind before caller and stack id");
	c = a;
	c.tgid = 9;
	c.kind = AL_FAULT;
	CHECK(al_stack_key_cmp(&c, &a) < 0 && !al_stack_key_equal(&a, &c), "process first");
	c = a;
	c.caller++;
	CHECK(al_stack_key_cmp(&a, &c) < 0 && al_stack_key_hash(&a) != al_stack_key_hash(&c),
	      "caller; hashes differ");
}

int main(void)
{
	hashes();
	vectors();
	errors();
	stack_keys();
	return check_done();
}
