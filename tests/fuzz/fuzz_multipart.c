/* fuzz_multipart.c: libFuzzer target for the multipart/form-data parser and its helpers. */
#include "config.h"

#include "http/multipart.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The first input byte picks what is fuzzed:
 *   0: multipart_boundary_from_content_type on the rest (as a C string);
 *   1: multipart_filename_sanitize on the rest;
 *   else: the rest is a body with boundary "XyZ" (small caps; FZ_LONG_BOUNDARY when the byte is
 *         0x80 or more), parsed in one feed and again in chunks drawn from the second byte; both
 *         runs must give the same events. Event order and the strings handed to callbacks are
 *         checked as they come.
 * Any broken invariant calls abort(), which libFuzzer reports as a crash.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A boundary as long as curl's: the parser looks for such delimiters with memmem, for short ones
 * CR by CR (multipart.c, MP_MEMMEM_MIN). */
#define FZ_LONG_BOUNDARY "------------------------d74496d66958873e"

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

struct fz_rec {
	uint64_t hash; /* FNV-1a over the events, data pieces merged */
	bool in_part;
	bool in_data;
	bool body_ended;
	size_t events;
	size_t abort_at; /* 1-based event that returns non-zero; 0: none */
};

static void fz_hash(struct fz_rec *r, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		r->hash ^= s[i];
		r->hash *= 1099511628211ull;
	}
}

static void fz_mark(struct fz_rec *r, char what)
{
	r->in_data = false;
	fz_hash(r, &what, 1);
}

static int fz_event(struct fz_rec *r)
{
	CHECK(!r->body_ended);
	r->events++;
	return r->abort_at != 0 && r->events == r->abort_at ? 7 : 0;
}

static int fz_begin(void *arg, const struct multipart_part *part)
{
	struct fz_rec *r = arg;

	CHECK(!r->in_part);
	CHECK(part->name != NULL && part->name_len > 0 && strlen(part->name) == part->name_len);
	CHECK(part->filename == NULL || strlen(part->filename) == part->filename_len);
	r->in_part = true;
	fz_mark(r, 'B');
	fz_hash(r, part->name, part->name_len + 1);
	if (part->filename != NULL)
		fz_hash(r, part->filename, part->filename_len + 1);
	if (part->content_type != NULL)
		fz_hash(r, part->content_type, strlen(part->content_type) + 1);
	return fz_event(r);
}

static int fz_data(void *arg, const char *p, size_t len)
{
	struct fz_rec *r = arg;

	CHECK(r->in_part && len > 0);
	if (!r->in_data)
		fz_hash(r, "D", 1);
	r->in_data = true;
	fz_hash(r, p, len);
	return fz_event(r);
}

static int fz_end(void *arg)
{
	struct fz_rec *r = arg;

	CHECK(r->in_part);
	r->in_part = false;
	fz_mark(r, 'E');
	return fz_event(r);
}

static int fz_body_end(void *arg)
{
	struct fz_rec *r = arg;
	int rc;

	CHECK(!r->in_part);
	fz_mark(r, 'Z');
	rc = fz_event(r);
	r->body_ended = true;
	return rc;
}

static const struct multipart_callbacks fz_cb = { fz_begin, fz_data, fz_end, fz_body_end };

/* Parses body in chunks (all at once when seed is 0); returns the finish result. */
static enum multipart_err fz_parse(const char *boundary, const uint8_t *body, size_t len, uint32_t seed,
                                   size_t abort_at, struct fz_rec *r)
{
	const struct multipart_limits lim = { 4, 256 };
	struct multipart *p = NULL;
	enum multipart_err rc;
	size_t off = 0, n;
	char *chunk;

	memset(r, 0, sizeof(*r));
	r->hash = 14695981039346656037ull;
	r->abort_at = abort_at;
	CHECK(multipart_new(&p, boundary, &lim, &fz_cb, r) == MULTIPART_OK);
	while (off < len) {
		n = len - off;
		if (seed != 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			if (n > seed % 17 + 1)
				n = seed % 17 + 1;
		}
		/* A copy of exactly n bytes, so ASan catches reads past the chunk. */
		chunk = malloc(n);
		CHECK(chunk != NULL);
		memcpy(chunk, body + off, n);
		rc = multipart_feed(p, chunk, n);
		free(chunk);
		off += n;
		if (rc != MULTIPART_OK)
			break;
	}
	rc = multipart_finish(p);
	CHECK(multipart_finish(p) == rc);
	CHECK(multipart_message(p) != NULL);
	CHECK(rc != MULTIPART_ERR_ABORTED || multipart_abort_code(p) == 7);
	if (rc == MULTIPART_OK)
		CHECK(r->body_ended && !r->in_part);
	multipart_free(p);
	return rc;
}

static void fz_body(const char *boundary, const uint8_t *data, size_t size)
{
	struct fz_rec one, many;
	enum multipart_err rc1, rc2;
	uint32_t seed;

	if (size < 1)
		return;
	seed = (uint32_t)data[0] * 2654435761u | 1;
	rc1 = fz_parse(boundary, data + 1, size - 1, 0, 0, &one);
	rc2 = fz_parse(boundary, data + 1, size - 1, seed, 0, &many);
	CHECK(rc1 == rc2);
	CHECK(one.hash == many.hash);
	if (one.events > 0) {
		/* Stop at some event: nothing may follow it. */
		rc2 = fz_parse(boundary, data + 1, size - 1, 0, data[0] % one.events + 1, &many);
		CHECK(rc2 == MULTIPART_ERR_ABORTED);
		CHECK(many.events == data[0] % one.events + 1);
	}
}

static void fz_content_type(const uint8_t *data, size_t size)
{
	char ct[4096], out[MULTIPART_BOUNDARY_MAX + 1];
	struct multipart *p = NULL;
	enum multipart_err rc;

	if (size >= sizeof(ct))
		return;
	memcpy(ct, data, size);
	ct[size] = '\0';
	rc = multipart_boundary_from_content_type(ct, out, sizeof(out));
	CHECK((unsigned)rc < MULTIPART_ERR__COUNT);
	if (rc != MULTIPART_OK) {
		CHECK(out[0] == '\0');
		return;
	}
	CHECK(strlen(out) >= 1 && strlen(out) <= MULTIPART_BOUNDARY_MAX);
	CHECK(multipart_new(&p, out, NULL, NULL, NULL) == MULTIPART_OK);
	multipart_free(p);
}

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static bool fz_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	uint32_t v;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3;
		else
			return false;
		if (n - i <= need)
			return false;
		v = s[i] & (0x3f >> need);
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			v = (v << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
		    (need == 3 && (v < 0x10000 || v > 0x10ffff)))
			return false;
		i += need + 1;
	}
	return true;
}

static void fz_filename(const uint8_t *data, size_t size)
{
	char out[MULTIPART_FILENAME_MAX + 1], again[MULTIPART_FILENAME_MAX + 1], small[8];
	size_t n, i;

	n = multipart_filename_sanitize((const char *)data, size, out, sizeof(out));
	CHECK(n <= MULTIPART_FILENAME_MAX && strlen(out) == n);
	CHECK(fz_utf8_valid((const unsigned char *)out, n));
	for (i = 0; i < n; i++)
		CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f && out[i] != '/' && out[i] != '\\');
	CHECK(n == 0 || (out[0] != ' ' && out[n - 1] != ' '));
	CHECK(strcmp(out, ".") != 0 && strcmp(out, "..") != 0);
	/* A sanitised name is its own sanitisation. */
	CHECK(multipart_filename_sanitize(out, n, again, sizeof(again)) == n);
	CHECK(memcmp(out, again, n) == 0);
	n = multipart_filename_sanitize((const char *)data, size, small, sizeof(small));
	CHECK(n < sizeof(small) && fz_utf8_valid((const unsigned char *)small, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0]) {
	case 0:
		fz_content_type(data + 1, size - 1);
		break;
	case 1:
		fz_filename(data + 1, size - 1);
		break;
	default:
		fz_body(data[0] >= 0x80 ? FZ_LONG_BOUNDARY : "XyZ", data + 1, size - 1);
		break;
	}
	return 0;
}
