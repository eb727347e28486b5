/* test_multipart.c: unit tests of the incremental multipart/form-data parser (http/multipart.c). */
#include "config.h"

#include "http/multipart.h"

#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define LOG_MAX (1 << 16)

/*
 * Every event as text: B(name,filename,content-type) D(bytes) E (part end) Z (body end), then
 * " rc=N" with the result of multipart_finish. Consecutive data pieces are merged, so the log
 * does not depend on how the input was split.
 */
struct rec {
	char log[LOG_MAX];
	size_t len;
	bool overflow;
	bool in_data;
	size_t events;
	size_t abort_at; /* return abort_code from the abort_at-th event (1-based); 0: never */
	int abort_code;
	size_t data_bytes;
	size_t biggest_piece;
};

static void rec_put(struct rec *r, const char *s, size_t n)
{
	if (n > LOG_MAX - 1 - r->len) {
		r->overflow = true;
		return;
	}
	memcpy(r->log + r->len, s, n);
	r->len += n;
	r->log[r->len] = '\0';
}

static void rec_puts(struct rec *r, const char *s)
{
	rec_put(r, s, strlen(s));
}

static void rec_close_data(struct rec *r)
{
	if (r->in_data)
		rec_puts(r, ")");
	r->in_data = false;
}

static int rec_event(struct rec *r)
{
	r->events++;
	return r->abort_at != 0 && r->events == r->abort_at ? r->abort_code : 0;
}

static int on_begin(void *arg, const struct multipart_part *part)
{
	struct rec *r = arg;

	rec_close_data(r);
	rec_puts(r, "B(");
	rec_puts(r, part->name);
	rec_puts(r, ",");
	rec_puts(r, part->filename != NULL ? part->filename : "(null)");
	rec_puts(r, ",");
	rec_puts(r, part->content_type != NULL ? part->content_type : "(null)");
	rec_puts(r, ")");
	CU_ASSERT_EQUAL(strlen(part->name), part->name_len);
	if (part->filename != NULL)
		CU_ASSERT_EQUAL(strlen(part->filename), part->filename_len);
	return rec_event(r);
}

static int on_data(void *arg, const char *data, size_t len)
{
	struct rec *r = arg;

	CU_ASSERT(len > 0);
	if (!r->in_data)
		rec_puts(r, "D(");
	r->in_data = true;
	rec_put(r, data, len);
	r->data_bytes += len;
	if (len > r->biggest_piece)
		r->biggest_piece = len;
	return rec_event(r);
}

static int on_end(void *arg)
{
	struct rec *r = arg;

	rec_close_data(r);
	rec_puts(r, "E");
	return rec_event(r);
}

static int on_body_end(void *arg)
{
	struct rec *r = arg;

	rec_close_data(r);
	rec_puts(r, "Z");
	return rec_event(r);
}

static const struct multipart_callbacks rec_cb = { on_begin, on_data, on_end, on_body_end };

/* xorshift32 with a fixed seed, so "random" chunkings are the same on every run. */
static uint32_t rng_next(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

enum split {
	SPLIT_NONE,  /* one feed */
	SPLIT_AT,    /* two feeds, cut at arg */
	SPLIT_BYTES, /* one byte per feed */
	SPLIT_RANDOM /* chunk sizes from the generator seeded with arg */
};

/*
 * Feeds body to a fresh parser in chunks chosen by mode and logs into r. Each chunk is a
 * separate heap copy so ASan sees any read outside what was fed.
 */
static void run_parser(const char *boundary, const struct multipart_limits *lim, const char *body, size_t len,
                       enum split mode, size_t arg, struct rec *r)
{
	struct multipart *p = NULL;
	enum multipart_err rc;
	size_t off = 0, n;
	uint32_t seed = (uint32_t)arg * 2654435761u + 1;
	char *chunk, tail[32];

	memset(r->log, 0, 1);
	r->len = 0;
	r->overflow = false;
	r->in_data = false;
	r->events = 0;
	r->data_bytes = 0;
	r->biggest_piece = 0;
	rc = multipart_new(&p, boundary, lim, &rec_cb, r);
	CU_ASSERT_EQUAL_FATAL(rc, MULTIPART_OK);
	while (off < len) {
		switch (mode) {
		case SPLIT_NONE:
			n = len;
			break;
		case SPLIT_AT:
			n = off < arg ? arg - off : len - off;
			break;
		case SPLIT_BYTES:
			n = 1;
			break;
		default:
			n = rng_next(&seed) % 4 == 0 ? rng_next(&seed) % 200 + 1 : rng_next(&seed) % 9 + 1;
			break;
		}
		if (n > len - off)
			n = len - off;
		chunk = malloc(n);
		CU_ASSERT_PTR_NOT_NULL_FATAL(chunk);
		memcpy(chunk, body + off, n);
		rc = multipart_feed(p, chunk, n);
		free(chunk);
		off += n;
		if (rc != MULTIPART_OK)
			break;
	}
	rc = multipart_finish(p);
	rec_close_data(r);
	snprintf(tail, sizeof(tail), " rc=%d", (int)rc);
	rec_puts(r, tail);
	CU_ASSERT_FALSE(r->overflow);
	multipart_free(p);
}

static struct rec rec_a, rec_b;

/* Whether r's log ends with suffix, e.g. " rc=10". */
static bool log_ends_with(const struct rec *r, const char *suffix)
{
	size_t n = strlen(suffix);

	return r->len >= n && memcmp(r->log + r->len - n, suffix, n) == 0;
}

/* Shows the first difference of two logs, for a failing comparison. */
static void log_diff(const char *what, const struct rec *want, const struct rec *got)
{
	size_t i = 0;

	while (i < want->len && i < got->len && want->log[i] == got->log[i])
		i++;
	fprintf(stderr, "\n%s: logs differ at byte %zu\n  want: %.*s\n  got:  %.*s\n", what, i,
	        (int)want->len, want->log, (int)got->len, got->log);
}

static bool same_log(const char *what, const struct rec *want, const struct rec *got)
{
	if (want->len == got->len && memcmp(want->log, got->log, want->len) == 0)
		return true;
	log_diff(what, want, got);
	return false;
}

/*
 * Parses body in one go, checks the log against want (when not NULL), then checks that
 * every two-way split, byte-at-a-time feeding and 20 random chunkings give the same log.
 */
static void check_body(const char *boundary, const struct multipart_limits *lim, const char *body, size_t len,
                       const char *want)
{
	size_t cut, seed;
	bool ok = true;

	run_parser(boundary, lim, body, len, SPLIT_NONE, 0, &rec_a);
	if (want != NULL && strcmp(rec_a.log, want) != 0) {
		fprintf(stderr, "\nwant: %s\ngot:  %s\n", want, rec_a.log);
		CU_FAIL("unexpected events");
	}
	for (cut = 0; cut <= len && ok; cut++) {
		run_parser(boundary, lim, body, len, SPLIT_AT, cut, &rec_b);
		ok = same_log("split", &rec_a, &rec_b);
	}
	CU_ASSERT_TRUE(ok);
	run_parser(boundary, lim, body, len, SPLIT_BYTES, 0, &rec_b);
	CU_ASSERT_TRUE(same_log("bytes", &rec_a, &rec_b));
	for (seed = 1, ok = true; seed <= 20 && ok; seed++) {
		run_parser(boundary, lim, body, len, SPLIT_RANDOM, seed, &rec_b);
		ok = same_log("random", &rec_a, &rec_b);
	}
	CU_ASSERT_TRUE(ok);
}

/* clang-format off */
#define SAMPLE_BOUNDARY "---------------------------9051914041544843365972754266"
#define SB "--" SAMPLE_BOUNDARY

static const char sample_body[] =
	"This is the preamble.\r\n"
	SB "\r\n"
	"Content-Disposition: form-data; name=\"text1\"\r\n"
	"\r\n"
	"text default\r\n"
	SB "\r\n"
	"content-disposition: Form-Data; NAME=text2\r\n"
	"X-Unknown: ignored\r\n"
	"\r\n"
	"a\xcf\x89" "b\r\n"
	SB "\r\n"
	"Content-Disposition: form-data; name=\"file1\"; filename=\"a.txt\"\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Content of a.txt.\r\n\r\n--" SAMPLE_BOUNDARY "x\r\n-\r\n--\r\n---\r\r\n\r\n"
	SB "--\r\n"
	"This is the epilogue.\r\n" SB "\r\n";

static const char sample_log[] =
	"B(text1,(null),(null))D(text default)E"
	"B(text2,(null),(null))D(a\xcf\x89" "b)E"
	"B(file1,a.txt,text/plain)D(Content of a.txt.\r\n\r\n--" SAMPLE_BOUNDARY
	"x\r\n-\r\n--\r\n---\r\r\n)E"
	"Z rc=0";
/* clang-format on */

static void test_sample_body_gives_expected_events(void)
{
	run_parser(SAMPLE_BOUNDARY, NULL, sample_body, sizeof(sample_body) - 1, SPLIT_NONE, 0, &rec_a);
	CU_ASSERT_STRING_EQUAL(rec_a.log, sample_log);
}

static void test_sample_body_split_at_every_position(void)
{
	size_t cut, len = sizeof(sample_body) - 1;
	bool ok = true;

	for (cut = 0; cut <= len && ok; cut++) {
		run_parser(SAMPLE_BOUNDARY, NULL, sample_body, len, SPLIT_AT, cut, &rec_b);
		ok = strcmp(rec_b.log, sample_log) == 0;
		if (!ok)
			fprintf(stderr, "\ncut at %zu: %s\n", cut, rec_b.log);
	}
	CU_ASSERT_TRUE(ok);
}

static void test_sample_body_one_byte_at_a_time(void)
{
	run_parser(SAMPLE_BOUNDARY, NULL, sample_body, sizeof(sample_body) - 1, SPLIT_BYTES, 0, &rec_b);
	CU_ASSERT_STRING_EQUAL(rec_b.log, sample_log);
}

static void test_sample_body_random_chunks(void)
{
	size_t seed;
	bool ok = true;

	for (seed = 1; seed <= 500 && ok; seed++) {
		run_parser(SAMPLE_BOUNDARY, NULL, sample_body, sizeof(sample_body) - 1, SPLIT_RANDOM, seed,
		           &rec_b);
		ok = strcmp(rec_b.log, sample_log) == 0;
	}
	CU_ASSERT_TRUE(ok);
}

/* Every strict prefix of the body that stops before "--boundary--" lacks the final boundary. */
static void test_truncated_body_misses_final_boundary(void)
{
	const char *close = strstr(sample_body, SB "--");
	size_t cut, end = (size_t)(close - sample_body) + strlen(SB "--");
	char want[32];
	bool ok = true;

	snprintf(want, sizeof(want), " rc=%d", (int)MULTIPART_ERR_NO_FINAL_BOUNDARY);
	for (cut = 0; cut < end && ok; cut++) {
		run_parser(SAMPLE_BOUNDARY, NULL, sample_body, cut, SPLIT_NONE, 0, &rec_b);
		ok = log_ends_with(&rec_b, want) && strchr(rec_b.log, 'Z') == NULL;
		if (!ok)
			fprintf(stderr, "\nprefix %zu: %s\n", cut, rec_b.log);
	}
	CU_ASSERT_TRUE(ok);
	run_parser(SAMPLE_BOUNDARY, NULL, sample_body, end, SPLIT_NONE, 0, &rec_b);
	CU_ASSERT_STRING_EQUAL(rec_b.log, sample_log);
}

/* Builds "--XyZ\r\n" headers "\r\n" value "\r\n--XyZ--\r\n" into out; returns its length. */
static size_t one_part(char *out, size_t outsize, const char *headers, const char *value, size_t value_len)
{
	int n = snprintf(out, outsize, "--XyZ\r\n%s\r\n", headers);
	size_t len;

	CU_ASSERT_FATAL(n > 0 && (size_t)n < outsize);
	len = (size_t)n;
	CU_ASSERT_FATAL(value_len + 11 < outsize - len);
	memcpy(out + len, value, value_len);
	len += value_len;
	memcpy(out + len, "\r\n--XyZ--\r\n", 11);
	return len + 11;
}

static void test_garbled_headers_are_rejected(void)
{
	static const struct {
		const char *headers;
		enum multipart_err want;
	} cases[] = {
		{ "Content-Disposition: form-data; name=\"a\"\r\n", MULTIPART_OK },
		{ "", MULTIPART_ERR_NO_DISPOSITION },
		{ "Content-Type: text/plain\r\n", MULTIPART_ERR_NO_DISPOSITION },
		{ "Content-Disposition: attachment; name=\"a\"\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data\r\n", MULTIPART_ERR_NO_NAME },
		{ "Content-Disposition: form-data; filename=\"a\"\r\n", MULTIPART_ERR_NO_NAME },
		{ "Content-Disposition: form-data; name=\"\"\r\n", MULTIPART_ERR_NO_NAME },
		{ "Content-Disposition: form-data; name=\"a\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=\"a\"x\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a b\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data name=a\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; name=b\r\n", MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename=x; filename=y\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=\"a\"\r\n"
		  "Content-Disposition: form-data; name=\"b\"\r\n",
		  MULTIPART_ERR_BAD_HEADER },
		{ "Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n",
		  MULTIPART_ERR_BAD_HEADER },
		{ "Content-Disposition form-data; name=\"a\"\r\n", MULTIPART_ERR_BAD_HEADER },
		{ "Content-Disposition : form-data; name=\"a\"\r\n", MULTIPART_ERR_BAD_HEADER },
		{ ": form-data; name=\"a\"\r\n", MULTIPART_ERR_BAD_HEADER },
		{ "Content-Disposition: form-data; name=\"a\"\rX\r\n", MULTIPART_ERR_BAD_HEADER },
		{ "Content-Disposition: form-data; name=\"a\x01\"\r\n", MULTIPART_ERR_BAD_HEADER },
		{ " Content-Disposition: form-data; name=\"a\"\r\n", MULTIPART_ERR_BAD_HEADER },
		{ "Content-Disposition: form-data;\r\n name=\"a\"\r\n", MULTIPART_ERR_FOLDED_HEADER },
		{ "Content-Disposition: form-data; name=a\r\n\tX-Folded: 1\r\n",
		  MULTIPART_ERR_FOLDED_HEADER },
		{ "Content-Disposition: form-data; name=a; filename*=ISO-8859-1''a.txt\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=UTF-8''%zz.txt\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=UTF-8''a%2\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=UTF-8''a%00b\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=UTF-8'a.txt\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=UTF-8''a'b.txt\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=UTF-8''a; filename*=UTF-8''b\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
		{ "Content-Disposition: form-data; name=a; filename*=\"UTF-8''a.txt\"\r\n",
		  MULTIPART_ERR_BAD_DISPOSITION },
	};
	char body[1024], want[32];
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = one_part(body, sizeof(body), cases[i].headers, "v", 1);
		check_body("XyZ", NULL, body, len, NULL);
		snprintf(want, sizeof(want), " rc=%d", (int)cases[i].want);
		if (!log_ends_with(&rec_a, want)) {
			fprintf(stderr, "\ncase %zu: want%s, got %s\n", i, want, rec_a.log);
			CU_FAIL("wrong result for garbled headers");
		}
	}
}

/* Delimiter look-alikes inside a part are data, whatever the chunking. */
static void test_boundary_lookalikes_are_data(void)
{
	static const struct {
		const char *data;
		size_t len;
	} cases[] = {
#define C(s) { s, sizeof(s) - 1 }
		C("--XyZ\r\n"), /* right after the headers: no CRLF of its own */
		C("--XyZ--"),
		C("--XyZ"),
		C("x--XyZ\r\nx"),
		C("x\r\n--XyZx"),
		C("\r\n--XyZW\r\n"), /* a longer boundary that starts with ours */
		C("\r\n--XyZ-x"),
		C("\r\n--XyZ-"), /* then the real delimiter */
		C("\r\n--XyZ\rx"),
		C("\r\n--XyZ\r"),
		C("\r\n--XyZ\n"),
		C("\r\n--XyZ \r\n"),
		C("\r\n--Xy"),
		C("\r\n--boundar"),
		C("\r\n--"),
		C("\r\n-"),
		C("\r\n"),
		C("\r"),
		C("\r\r\n\r\n-\r\n--\r\n--X\r\n--Xy"),
		C("\r\n--xyz\r\n"), /* boundaries are case-sensitive */
		C("\r\n-- XyZ\r\n"),
		C("\r\n\r\n--XyZ-\r\n--XyZ\r\r\n--XyZ\rx-"),
		C("a\0b\r\n--XyZ\0\r\n--\0"),
#undef C
	};
	char body[512], want[512];
	size_t i, len, hl;
	const char *head = "B(f,(null),(null))D(";

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = one_part(body, sizeof(body), "Content-Disposition: form-data; name=f\r\n",
		               cases[i].data, cases[i].len);
		hl = strlen(head);
		memcpy(want, head, hl);
		memcpy(want + hl, cases[i].data, cases[i].len);
		memcpy(want + hl + cases[i].len, ")EZ rc=0", 9);
		run_parser("XyZ", NULL, body, len, SPLIT_NONE, 0, &rec_a);
		if (rec_a.len != hl + cases[i].len + 8 || memcmp(rec_a.log, want, rec_a.len) != 0) {
			fprintf(stderr, "\nlookalike case %zu: got %s\n", i, rec_a.log);
			CU_FAIL("look-alike was not data");
		}
		check_body("XyZ", NULL, body, len, NULL);
	}
}

/* The same with a boundary as long as curl's and the browsers' (searched for with memmem), the
 * look-alikes spread over two parts and cut at every position. */
static void test_long_boundary_lookalikes_are_data(void)
{
#define LB "------------------------d74496d66958873e"
	/* clang-format off */
	static const char data1[] =
		"\r\n--" LB "x" "\r\n--" LB "-x" "\r\n--" LB "\rx" "\r\n--" LB " \r\n"
		"\r\n--------------------------d74496d66958873" "x" /* one character short */
		"\r\n--------------------------d74496d66958873f" /* the last one differs */
		"x--" LB "\r\n" /* no CRLF of its own */
		"\r\r\n--" LB "-";
	static const char data2[] = "\r\n--" LB "\r" "\r\n--" LB "-" "\r\n--------------";
	/* clang-format on */
	char body[1024], want[1024];
	int n, w;

	n = snprintf(body, sizeof(body),
	             "--" LB "\r\nContent-Disposition: form-data; name=a\r\n\r\n%s\r\n--" LB
	             "\r\nContent-Disposition: form-data; name=b; filename=\"x.bin\"\r\n\r\n%s\r\n--" LB
	             "--\r\n",
	             data1, data2);
	w = snprintf(want, sizeof(want), "B(a,(null),(null))D(%s)EB(b,x.bin,(null))D(%s)EZ rc=0", data1,
	             data2);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(body) && w > 0 && (size_t)w < sizeof(want));
	check_body(LB, NULL, body, (size_t)n, want);
#undef LB
}

static void test_empty_part_has_no_data_event(void)
{
	static const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
	                           "--XyZ\r\nContent-Disposition: form-data; name=b; filename=\"\"\r\n"
	                           "Content-Type: application/octet-stream\r\n\r\n\r\n--XyZ--";

	check_body("XyZ", NULL, body, sizeof(body) - 1,
	           "B(a,(null),(null))EB(b,,application/octet-stream)EZ rc=0");
}

static void test_filename_forms(void)
{
	static const struct {
		const char *headers;
		const char *begin;
	} cases[] = {
		{ "Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n", "B(f,a.txt,(null))" },
		{ "Content-Disposition: form-data; name=\"f\"; filename=\"a\\\"b.txt\"\r\n",
		  "B(f,a\"b.txt,(null))" },
		{ "Content-Disposition: form-data; name=\"f\"; filename=\"a\\\\b\"\r\n", "B(f,a\\b,(null))" },
		{ "Content-Disposition: form-data; name=\"f\"; filename=\"C:\\dir\\a.txt\"\r\n",
		  "B(f,C:\\dir\\a.txt,(null))" },
		{ "Content-Disposition: form-data; name=\"f\"; filename=\"a;b=c.txt\"\r\n",
		  "B(f,a;b=c.txt,(null))" },
		{ "Content-Disposition: form-data; name=\"f\"; filename=\"\xe2\x82\xac.txt\"\r\n",
		  "B(f,\xe2\x82\xac.txt,(null))" },
		{ "Content-Disposition: form-data; name=\"f\"; filename=plain.txt\r\n",
		  "B(f,plain.txt,(null))" },
		{ "Content-Disposition: form-data; name=f; "
		  "filename*=UTF-8''%e2%82%ac%20rates.txt\r\n",
		  "B(f,\xe2\x82\xac rates.txt,(null))" },
		{ "Content-Disposition: form-data; name=f; filename=\"fallback.txt\"; "
		  "filename*=utf-8'en'real.txt\r\n",
		  "B(f,real.txt,(null))" },
		{ "Content-Disposition: form-data; name=f; filename*=UTF-8''real.txt; "
		  "filename=\"fallback.txt\"\r\n",
		  "B(f,real.txt,(null))" },
		{ "Content-Disposition: form-data; name=\"a \\\"q\\\" b\"\r\n",
		  "B(a \"q\" b,(null),(null))" },
		{ "Content-Disposition: form-data; name=\"\xd0\xb8\xd0\xbc\xd1\x8f\"\r\n",
		  "B(\xd0\xb8\xd0\xbc\xd1\x8f,(null),(null))" },
		{ "CONTENT-DISPOSITION:FORM-DATA;NAME=\"f\";FILENAME=\"x\"\r\n", "B(f,x,(null))" },
		{ "Content-Disposition: form-data ; name = \"f\" ; ; filename=\"x\";\r\n", "B(f,x,(null))" },
		{ "Content-Disposition: form-data; name=f; size=12; creation-date=\"x\"\r\n",
		  "B(f,(null),(null))" },
		{ "Content-Type:  image/png ; q=1 \r\nContent-Disposition: form-data; name=f\r\n",
		  "B(f,(null),image/png ; q=1)" },
	};
	char body[1024], want[256];
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = one_part(body, sizeof(body), cases[i].headers, "v", 1);
		snprintf(want, sizeof(want), "%sD(v)EZ rc=0", cases[i].begin);
		check_body("XyZ", NULL, body, len, want);
	}
}

static void test_parts_in_any_order(void)
{
	static const char body[] =
	        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.bin\"\r\n"
	        "Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\r\n"
	        "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n"
	        "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nAgain\r\n"
	        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.bin\"\r\n"
	        "\r\nC\r\n--XyZ--\r\n";
	static const char want[] = "B(file,b.bin,application/octet-stream)D(\x00\x01\x02)E"
	                           "B(title,(null),(null))D(Hello)E"
	                           "B(title,(null),(null))D(Again)E"
	                           "B(file,c.bin,(null))D(C)EZ rc=0";

	run_parser("XyZ", NULL, body, sizeof(body) - 1, SPLIT_NONE, 0, &rec_a);
	CU_ASSERT_EQUAL(rec_a.len, sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(rec_a.log, want, sizeof(want) - 1), 0);
	check_body("XyZ", NULL, body, sizeof(body) - 1, NULL);
}

static void test_lf_only_line_endings_are_rejected(void)
{
	static const char *const bodies[] = {
		"--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nv\n--XyZ--\n",
		"preamble\r\n--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nv\n--XyZ--\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\n\r\nv\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\nv\r\n--XyZ--\r\n",
		"--XyZ\r\nX-A: 1\r\n\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--\r\n",
	};
	char want[32];
	size_t i;

	snprintf(want, sizeof(want), " rc=%d", (int)MULTIPART_ERR_BARE_LF);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		check_body("XyZ", NULL, bodies[i], strlen(bodies[i]), NULL);
		CU_ASSERT_STRING_EQUAL(rec_a.log, want);
	}
}

static void test_too_many_parts_is_its_own_error(void)
{
	static const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	                           "--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
	                           "--XyZ\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n--XyZ--\r\n";
	struct multipart_limits lim = { 2, 0 };
	struct multipart *p = NULL;
	char want[128];

	snprintf(want, sizeof(want), "B(a,(null),(null))D(1)EB(b,(null),(null))D(2)E rc=%d",
	         (int)MULTIPART_ERR_TOO_MANY_PARTS);
	check_body("XyZ", &lim, body, sizeof(body) - 1, want);
	lim.max_parts = 3;
	check_body("XyZ", &lim, body, sizeof(body) - 1,
	           "B(a,(null),(null))D(1)EB(b,(null),(null))D(2)EB(c,(null),(null))D(3)EZ rc=0");

	lim.max_parts = 2;
	CU_ASSERT_EQUAL_FATAL(multipart_new(&p, "XyZ", &lim, NULL, NULL), MULTIPART_OK);
	CU_ASSERT_EQUAL(multipart_feed(p, body, sizeof(body) - 1), MULTIPART_ERR_TOO_MANY_PARTS);
	CU_ASSERT_STRING_EQUAL(multipart_message(p), "more than 2 parts");
	multipart_free(p);
}

/* Builds a part whose header block is exactly size bytes, CRLFs and blank line included. */
static size_t sized_header_body(char *out, size_t outsize, size_t size)
{
	static const char cd[] = "Content-Disposition: form-data; name=a\r\nX-Pad: ";
	char headers[16384];
	size_t fixed = sizeof(cd) - 1 + 2 + 2, pad;

	CU_ASSERT_FATAL(size > fixed && size - fixed < sizeof(headers) - sizeof(cd) - 2);
	pad = size - fixed;
	memcpy(headers, cd, sizeof(cd) - 1);
	memset(headers + sizeof(cd) - 1, 'p', pad);
	memcpy(headers + sizeof(cd) - 1 + pad, "\r\n", 3);
	return one_part(out, outsize, headers, "v", 1);
}

static void test_header_block_cap_is_its_own_error(void)
{
	static char body[20000];
	struct multipart_limits lim = { 0, 100 };
	struct multipart *p = NULL;
	char want[32];
	size_t len;

	len = sized_header_body(body, sizeof(body), 100);
	check_body("XyZ", &lim, body, len, "B(a,(null),(null))D(v)EZ rc=0");
	len = sized_header_body(body, sizeof(body), 101);
	snprintf(want, sizeof(want), " rc=%d", (int)MULTIPART_ERR_HEADERS_TOO_LARGE);
	check_body("XyZ", &lim, body, len, want);

	/* The default cap, and the message that names it. */
	len = sized_header_body(body, sizeof(body), MULTIPART_DEFAULT_MAX_HEADER_BYTES);
	run_parser("XyZ", NULL, body, len, SPLIT_NONE, 0, &rec_a);
	CU_ASSERT_STRING_EQUAL(rec_a.log, "B(a,(null),(null))D(v)EZ rc=0");
	len = sized_header_body(body, sizeof(body), MULTIPART_DEFAULT_MAX_HEADER_BYTES + 1);
	CU_ASSERT_EQUAL_FATAL(multipart_new(&p, "XyZ", NULL, NULL, NULL), MULTIPART_OK);
	CU_ASSERT_EQUAL(multipart_feed(p, body, len), MULTIPART_ERR_HEADERS_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(multipart_message(p), "part headers larger than 8192 bytes");
	multipart_free(p);
}

static void test_callback_abort_stops_with_its_code(void)
{
	struct multipart *p = NULL;
	size_t at, i;
	struct rec *r = &rec_a;

	/* Abort at each event in turn (fed byte by byte, so data comes in many pieces): no event
	 * after it, and the code comes back. */
	for (at = 1;; at++) {
		memset(r, 0, sizeof(*r));
		r->abort_at = at;
		r->abort_code = 42;
		CU_ASSERT_EQUAL_FATAL(multipart_new(&p, SAMPLE_BOUNDARY, NULL, &rec_cb, r), MULTIPART_OK);
		CU_ASSERT_STRING_EQUAL(multipart_message(p), "no error");
		for (i = 0; i < sizeof(sample_body) - 1; i++)
			if (multipart_feed(p, sample_body + i, 1) != MULTIPART_OK)
				break;
		if (i == sizeof(sample_body) - 1) {
			CU_ASSERT_TRUE(at > 10);
			CU_ASSERT_EQUAL(multipart_finish(p), MULTIPART_OK);
			multipart_free(p);
			break;
		}
		CU_ASSERT_EQUAL(r->events, at);
		CU_ASSERT_EQUAL(multipart_abort_code(p), 42);
		CU_ASSERT_STRING_EQUAL(multipart_message(p), "aborted by the upload handler");
		CU_ASSERT_EQUAL(multipart_feed(p, sample_body, sizeof(sample_body) - 1),
		                MULTIPART_ERR_ABORTED);
		CU_ASSERT_EQUAL(multipart_finish(p), MULTIPART_ERR_ABORTED);
		CU_ASSERT_EQUAL(r->events, at);
		multipart_free(p);
	}
	r->abort_at = 0;
}

static void test_errors_are_sticky(void)
{
	static const char bad[] = "--XyZ\r\nContent-Type: a/b\r\n\r\nv\r\n--XyZ--\r\n";
	static const char good[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n";
	struct multipart *p = NULL;

	CU_ASSERT_EQUAL_FATAL(multipart_new(&p, "XyZ", NULL, &rec_cb, &rec_a), MULTIPART_OK);
	CU_ASSERT_EQUAL(multipart_feed(p, bad, sizeof(bad) - 1), MULTIPART_ERR_NO_DISPOSITION);
	CU_ASSERT_EQUAL(multipart_feed(p, good, sizeof(good) - 1), MULTIPART_ERR_NO_DISPOSITION);
	CU_ASSERT_EQUAL(multipart_finish(p), MULTIPART_ERR_NO_DISPOSITION);
	CU_ASSERT_EQUAL(multipart_abort_code(p), 0);
	multipart_free(p);
}

static void test_preamble_and_epilogue_are_ignored(void)
{
	static const char body[] = "--XyZW\r\n--XyZ-\r\n\r\n--XyZ x\r\n--Xy\r\n-- XyZ\r\nXyZ\r\n--XyZ\r\r\n"
	                           "\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"
	                           "--XyZ--garbage \n\n\r\n--XyZ\r\nContent-Disposition: bogus\r\n\r\n";

	check_body("XyZ", NULL, body, sizeof(body) - 1, "B(a,(null),(null))D(v)EZ rc=0");
}

static void test_body_without_any_part_is_accepted(void)
{
	check_body("XyZ", NULL, "--XyZ--\r\n", 9, "Z rc=0");
	check_body("XyZ", NULL, "--XyZ--", 7, "Z rc=0");
}

static void test_empty_or_preamble_only_body_misses_final_boundary(void)
{
	char want[32];

	snprintf(want, sizeof(want), " rc=%d", (int)MULTIPART_ERR_NO_FINAL_BOUNDARY);
	check_body("XyZ", NULL, "", 0, want);
	check_body("XyZ", NULL, "just text\r\n", 11, want);
	check_body("XyZ", NULL, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ-", 56,
	           NULL);
	CU_ASSERT_TRUE(log_ends_with(&rec_a, want));
}

static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct stream_rec {
	uint64_t hash;
	size_t bytes;
	size_t biggest_piece;
	int ends;
};

static int stream_data(void *arg, const char *data, size_t len)
{
	struct stream_rec *s = arg;

	s->hash = fnv1a(s->hash, data, len);
	s->bytes += len;
	if (len > s->biggest_piece)
		s->biggest_piece = len;
	return 0;
}

static int stream_end(void *arg)
{
	struct stream_rec *s = arg;

	s->ends++;
	return 0;
}

/* A 16 MiB part goes through as it arrives: nothing is held back beyond a delimiter's length. */
static void test_large_part_is_streamed_not_buffered(void)
{
	static const char head[] =
	        "--" SAMPLE_BOUNDARY "\r\nContent-Disposition: form-data; name=f; filename=big\r\n\r\n";
	static const char tail[] = "\r\n--" SAMPLE_BOUNDARY "--\r\n";
	const struct multipart_callbacks cb = { NULL, stream_data, stream_end, NULL };
	const size_t total = 16u << 20, chunk = 65536;
	struct stream_rec s = { 14695981039346656037ull, 0, 0, 0 };
	struct multipart *p = NULL;
	uint64_t want = 14695981039346656037ull;
	uint32_t seed = 12345;
	char *buf = malloc(chunk);
	size_t sent = 0, i, n;
	bool streaming = true;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL_FATAL(multipart_new(&p, SAMPLE_BOUNDARY, NULL, &cb, &s), MULTIPART_OK);
	CU_ASSERT_EQUAL(multipart_feed(p, head, sizeof(head) - 1), MULTIPART_OK);
	while (sent < total) {
		n = total - sent < chunk ? total - sent : chunk;
		for (i = 0; i < n; i++) {
			/* Random bytes, with CR LF and dashes common enough to start many matches. */
			uint32_t x = rng_next(&seed);
			buf[i] = (x & 7) == 0 ? "\r\n--"[(x >> 3) & 3] : (char)(x >> 8);
		}
		want = fnv1a(want, buf, n);
		CU_ASSERT_EQUAL_FATAL(multipart_feed(p, buf, n), MULTIPART_OK);
		sent += n;
		if (s.bytes + 4 + strlen(SAMPLE_BOUNDARY) < sent)
			streaming = false;
	}
	CU_ASSERT_TRUE(streaming);
	CU_ASSERT_TRUE(s.biggest_piece <= chunk);
	CU_ASSERT_EQUAL(multipart_feed(p, tail, sizeof(tail) - 1), MULTIPART_OK);
	CU_ASSERT_EQUAL(multipart_finish(p), MULTIPART_OK);
	CU_ASSERT_EQUAL(s.bytes, total);
	CU_ASSERT_EQUAL(s.hash, want);
	CU_ASSERT_EQUAL(s.ends, 1);
	multipart_free(p);
	free(buf);
}

static void test_boundary_from_content_type(void)
{
	static const char b70[] = "1234567890123456789012345678901234567890123456789012345678901234567890";
	static const struct {
		const char *ct;
		enum multipart_err want;
		const char *boundary;
	} cases[] = {
		{ "multipart/form-data; boundary=abc", MULTIPART_OK, "abc" },
		{ "Multipart/Form-Data; BOUNDARY=abc", MULTIPART_OK, "abc" },
		{ "  multipart/form-data;boundary=abc  ", MULTIPART_OK, "abc" },
		{ "multipart/form-data ; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
		  MULTIPART_OK, "----WebKitFormBoundary7MA4YWxkTrZu0gW" },
		{ "multipart/form-data; boundary=\"a b:c=d?(e)/,f\"", MULTIPART_OK, "a b:c=d?(e)/,f" },
		{ "multipart/form-data; boundary=\"a\\bc\"", MULTIPART_OK, "abc" },
		{ "multipart/form-data; boundary=abc;", MULTIPART_OK, "abc" },
		{ "multipart/form-data; boundary=1234567890123456789012345678901234567890"
		  "123456789012345678901234567890",
		  MULTIPART_OK, b70 },
		{ "multipart/form-data; boundary=1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901",
		  MULTIPART_ERR_BAD_BOUNDARY, "" },
		{ "multipart/form-data; boundary=\"abc \"", MULTIPART_ERR_BAD_BOUNDARY, "" },
		{ "multipart/form-data; boundary=\"\"", MULTIPART_ERR_BAD_BOUNDARY, "" },
		{ "multipart/form-data; boundary=\"a\\\"b\"", MULTIPART_ERR_BAD_BOUNDARY, "" },
		{ "multipart/form-data; boundary=a*b", MULTIPART_ERR_BAD_BOUNDARY, "" },
		{ "multipart/form-data; boundary=", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data; boundary=\"abc", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data; boundary=a@b", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data; boundary=a; boundary=b", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data boundary=a", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data; =abc", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data; boundary=\"a\x01b\"", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data; boundary=\"abc\\", MULTIPART_ERR_BAD_CONTENT_TYPE, "" },
		{ "multipart/form-data", MULTIPART_ERR_NO_BOUNDARY, "" },
		{ "multipart/form-data; charset=utf-8", MULTIPART_ERR_NO_BOUNDARY, "" },
		{ "multipart/mixed; boundary=abc", MULTIPART_ERR_NOT_FORM_DATA, "" },
		{ "multipart/form-datax; boundary=abc", MULTIPART_ERR_NOT_FORM_DATA, "" },
		{ "application/x-www-form-urlencoded", MULTIPART_ERR_NOT_FORM_DATA, "" },
		{ "", MULTIPART_ERR_NOT_FORM_DATA, "" },
		{ NULL, MULTIPART_ERR_NOT_FORM_DATA, "" },
	};
	char out[MULTIPART_BOUNDARY_MAX + 1];
	enum multipart_err rc;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'z', sizeof(out));
		rc = multipart_boundary_from_content_type(cases[i].ct, out, sizeof(out));
		if (rc != cases[i].want || strcmp(out, cases[i].boundary) != 0) {
			fprintf(stderr, "\ncontent type case %zu: rc %d, out \"%s\"\n", i, (int)rc, out);
			CU_FAIL("wrong boundary result");
		}
	}
}

static void test_boundary_output_too_small_is_an_argument_error(void)
{
	char out[4];

	CU_ASSERT_EQUAL(
	        multipart_boundary_from_content_type("multipart/form-data; boundary=abc", out, sizeof(out)),
	        MULTIPART_OK);
	CU_ASSERT_STRING_EQUAL(out, "abc");
	CU_ASSERT_EQUAL(
	        multipart_boundary_from_content_type("multipart/form-data; boundary=abcd", out, sizeof(out)),
	        MULTIPART_ERR_ARG);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(multipart_boundary_from_content_type("multipart/form-data; boundary=a", out, 0),
	                MULTIPART_ERR_ARG);
}

static void test_new_rejects_invalid_boundary(void)
{
	struct multipart *p = (struct multipart *)&rec_a;
	struct multipart_limits huge = { 0, (size_t)1 << 30 };
	static const char *const bad[] = {
		"",
		"a ",
		"a\r",
		"a\nb",
		"a\"b",
		"a\\b",
		"12345678901234567890123456789012345678901234567890123456789012345678901",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(multipart_new(&p, bad[i], NULL, NULL, NULL), MULTIPART_ERR_BAD_BOUNDARY);
		CU_ASSERT_PTR_NULL(p);
	}
	CU_ASSERT_EQUAL(multipart_new(&p, NULL, NULL, NULL, NULL), MULTIPART_ERR_BAD_BOUNDARY);
	CU_ASSERT_EQUAL(multipart_new(&p, "ok", &huge, NULL, NULL), MULTIPART_ERR_ARG);
	CU_ASSERT_EQUAL(multipart_new(&p, "a b", NULL, NULL, NULL), MULTIPART_OK);
	multipart_free(p);
	multipart_free(NULL);
}

static void test_filename_sanitize(void)
{
	static char long_a[301], long_euro[300];
	static const struct {
		const char *in;
		size_t inlen;   /* 0: strlen */
		size_t outsize; /* 0: 256 */
		const char *want;
	} cases[] = {
		{ "photo.jpg", 0, 0, "photo.jpg" },
		{ "C:\\Users\\x\\photo.jpg", 0, 0, "photo.jpg" },
		{ "../../etc/passwd", 0, 0, "passwd" },
		{ "a/b\\c/d.txt", 0, 0, "d.txt" },
		{ "dir/", 0, 0, "" },
		{ "..", 0, 0, "" },
		{ ".", 0, 0, "" },
		{ "x/..", 0, 0, "" },
		{ "...", 0, 0, "..." },
		{ "", 0, 0, "" },
		{ "  name .txt  ", 0, 0, "name .txt" },
		{ "\x01 a\tb\x7f.txt\r\n", 0, 0, "ab.txt" },
		{ "a\0b.txt", 7, 0, "ab.txt" },
		{ "\xe2\x82\xac.txt", 0, 0, "\xe2\x82\xac.txt" },
		{ "\xf0\x9f\x98\x80", 0, 0, "\xf0\x9f\x98\x80" },
		{ "\xff.txt", 0, 0, "\xef\xbf\xbd.txt" },
		{ "\xc0\xaf", 0, 0, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe0\x80\xaf", 0, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe0\xa4\x85", 0, 0, "\xe0\xa4\x85" },
		{ "\xed\xa0\x80", 0, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", 0, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a\xe2\x82", 0, 0, "a\xef\xbf\xbd" },
		{ "a\xe2\x82z", 0, 0, "a\xef\xbf\xbdz" },
		{ "a\xc2\x85"
		  "b\xc2\xa0",
		  0, 0, "ab\xc2\xa0" },
		{ "evil\xe2\x80\xaetxt.exe", 0, 0, "eviltxt.exe" },
		{ "abcdef", 0, 4, "abc" },
		{ "ab\xe2\x82\xac", 0, 5, "ab" },
		{ "abc", 0, 1, "" },
	};
	char out[MULTIPART_FILENAME_MAX + 1 + 16];
	size_t i, n, inlen, outsize;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		inlen = cases[i].inlen ? cases[i].inlen : strlen(cases[i].in);
		outsize = cases[i].outsize ? cases[i].outsize : MULTIPART_FILENAME_MAX + 1;
		n = multipart_filename_sanitize(cases[i].in, inlen, out, outsize);
		if (n != strlen(cases[i].want) || strcmp(out, cases[i].want) != 0) {
			fprintf(stderr, "\nsanitize case %zu: got \"%s\"\n", i, out);
			CU_FAIL("wrong sanitized name");
		}
	}

	/* Capped at 255 bytes even with a bigger output, never splitting a character. */
	memset(long_a, 'a', 300);
	n = multipart_filename_sanitize(long_a, 300, out, sizeof(out));
	CU_ASSERT_EQUAL(n, MULTIPART_FILENAME_MAX);
	CU_ASSERT_EQUAL(strspn(out, "a"), MULTIPART_FILENAME_MAX);
	memset(long_euro, 'b', 254);
	memcpy(long_euro + 254, "\xe2\x82\xac", 3);
	n = multipart_filename_sanitize(long_euro, 257, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 254);
	CU_ASSERT_EQUAL(out[254], '\0');
	n = multipart_filename_sanitize(NULL, 0, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 0);
}

static void test_strerror_covers_every_error(void)
{
	int e;

	for (e = 0; e < MULTIPART_ERR__COUNT; e++)
		CU_ASSERT_STRING_NOT_EQUAL(multipart_strerror((enum multipart_err)e),
		                           "unknown multipart error");
	CU_ASSERT_STRING_EQUAL(multipart_strerror(MULTIPART_ERR_NO_FINAL_BOUNDARY), "missing final boundary");
	CU_ASSERT_STRING_EQUAL(multipart_strerror(MULTIPART_ERR__COUNT), "unknown multipart error");
}

static const struct unit_test tests[] = {
#define T(f)          \
	{             \
#f, f \
	}
	T(test_sample_body_gives_expected_events),
	T(test_sample_body_split_at_every_position),
	T(test_sample_body_one_byte_at_a_time),
	T(test_sample_body_random_chunks),
	T(test_truncated_body_misses_final_boundary),
	T(test_garbled_headers_are_rejected),
	T(test_boundary_lookalikes_are_data),
	T(test_long_boundary_lookalikes_are_data),
	T(test_empty_part_has_no_data_event),
	T(test_filename_forms),
	T(test_parts_in_any_order),
	T(test_lf_only_line_endings_are_rejected),
	T(test_too_many_parts_is_its_own_error),
	T(test_header_block_cap_is_its_own_error),
	T(test_callback_abort_stops_with_its_code),
	T(test_errors_are_sticky),
	T(test_preamble_and_epilogue_are_ignored),
	T(test_body_without_any_part_is_accepted),
	T(test_empty_or_preamble_only_body_misses_final_boundary),
	T(test_large_part_is_streamed_not_buffered),
	T(test_boundary_from_content_type),
	T(test_boundary_output_too_small_is_an_argument_error),
	T(test_new_rejects_invalid_boundary),
	T(test_filename_sanitize),
	T(test_strerror_covers_every_error),
#undef T
};

UNIT_SUITES(UNIT_SUITE("multipart", NULL, NULL, tests));
