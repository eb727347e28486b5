/* fuzz_signlink.c: libFuzzer target for stream links: the expires and sig query values. */
#include "config.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/signlink.h"
#include "fuzz.h"
#include "http/query.h"
#include "util/buf.h"

/*
 * Input: 8 bytes of media id, 8 of "now", 8 of the signed expiry, 1 of leeway, then a query
 * string as GET /media/:id/stream receives it. In the query, "SIG" is replaced by the real
 * signature of (media id, signed expiry) under a fixed key and "EXP" by that expiry in decimal,
 * so the fuzzer reaches the MAC comparison and the expiry rules, not only the decoders.
 *
 * The answer must be exactly what the rules say: OK or EXPIRED only for canonical values whose
 * signature is the one we make for them, EXPIRED exactly when now is past expires + leeway.
 */

static int64_t fz_i64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* Whether s is canonical decimal (digits, no leading zero) of a value that fits an int64_t. */
static bool fz_canonical(const char *s, int64_t *out)
{
	char back[24];
	long long v;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) > 19)
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return false;
	snprintf(back, sizeof(back), "%lld", v);
	if (strcmp(back, s) != 0)
		return false;
	*out = v;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[SIGNLINK_KEY_LEN] = "fuzzing-key-fuzzing-key-fuzzing";
	char sig[SIGNLINK_SIG_SIZE], want[SIGNLINK_SIG_SIZE], exp_dec[24];
	struct buf qs = BUF_INIT;
	struct query q;
	const char *expires, *sigv;
	int64_t media_id, now, signed_exp, leeway, e;
	enum signlink_result res;
	size_t i;

	if (size < 25)
		return 0;
	if (sodium_init() < 0)
		abort();
	media_id = fz_i64(data);
	now = fz_i64(data + 8);
	signed_exp = fz_i64(data + 16);
	if (signed_exp < 0)
		signed_exp = -(signed_exp + 1);
	leeway = (int8_t)data[24];
	FUZZ_CHECK(signlink_sign(key, media_id, signed_exp, sig, sizeof(sig)) == 0);
	FUZZ_CHECK(strlen(sig) == SIGNLINK_SIG_LEN);
	snprintf(exp_dec, sizeof(exp_dec), "%" PRId64, signed_exp);
	for (i = 25; i < size; i++) {
		if (size - i >= 3 && memcmp(data + i, "SIG", 3) == 0) {
			buf_puts(&qs, sig);
			i += 2;
		} else if (size - i >= 3 && memcmp(data + i, "EXP", 3) == 0) {
			buf_puts(&qs, exp_dec);
			i += 2;
		} else {
			buf_putc(&qs, (char)data[i]);
		}
	}
	FUZZ_CHECK(!qs.failed);
	memset(&q, 0, sizeof(q));
	if (strlen(qs.data) != qs.len || query_parse(qs.data, &q) != 0)
		goto out;
	expires = query_get(&q, "expires");
	sigv = query_get(&q, "sig");
	res = signlink_verify(key, media_id, expires, sigv, now, leeway);
	FUZZ_CHECK(res == SIGNLINK_OK || res == SIGNLINK_BAD || res == SIGNLINK_EXPIRED);
	if (res == SIGNLINK_BAD) {
		/* Refused: then the values are malformed or the signature is not ours for them. */
		if (fz_canonical(expires, &e) && sigv != NULL) {
			FUZZ_CHECK(signlink_sign(key, media_id, e, want, sizeof(want)) == 0);
			FUZZ_CHECK(strcmp(want, sigv) != 0);
		}
		goto out;
	}
	FUZZ_CHECK(fz_canonical(expires, &e));
	FUZZ_CHECK(signlink_sign(key, media_id, e, want, sizeof(want)) == 0);
	FUZZ_CHECK(sigv != NULL && strcmp(want, sigv) == 0);
	FUZZ_CHECK((res == SIGNLINK_EXPIRED) == (now > e && now - e > (leeway < 0 ? 0 : leeway)));
out:
	query_free(&q);
	buf_free(&qs);
	return 0;
}
