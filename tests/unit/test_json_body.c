/* test_json_body.c: unit tests of JSON bodies, the typed getters and UTF-8 checks (http/json_body.c). */
#include "config.h"

#include "http/json_body.h"

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/config.h"
#include "http/request.h"
#include "http/response.h"
#include "unit.h"
#include "util/utf8.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- json_parse_object ---------------------------------------------------------------------- */

struct parse_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	int depth;
	bool ok;
	const char *msg; /* substring of the message on failure */
};

static void test_parse_object_table(void)
{
	static const struct parse_case cases[] = {
		{ "{}", 0, 16, true, NULL },
		{ " \t\n{ \"a\" : 1 }\r\n ", 0, 16, true, NULL },
		{ "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", 0, 16, true, NULL },
		{ "", 0, 16, false, "unexpected end of data" },
		{ "   ", 0, 16, false, "unexpected end of data" },
		{ "{", 0, 16, false, "unexpected end of data" },
		{ "{\"a\":1", 0, 16, false, "unexpected end of data" },
		{ "{\"a\":\"x", 0, 16, false, "unexpected end of data" },
		{ "{\"a\":1,}", 0, 16, false, "not valid JSON" },
		{ "{a:1}", 0, 16, false, "not valid JSON" },
		{ "{\"a\":tru}", 0, 16, false, "not valid JSON" },
		{ "{\"a\":\"\xff\"}", 0, 16, false, "not valid JSON" },
		/* trailing garbage */
		{ "{} x", 0, 16, false, "not valid JSON" },
		{ "{}{}", 0, 16, false, "not valid JSON" },
		{ "{}]", 0, 16, false, "not valid JSON" },
		{ "{}\0{}", 5, 16, false, "not valid JSON" },
		/* the top level must be an object */
		{ "[]", 0, 16, false, "must be a JSON object" },
		{ "[{}]", 0, 16, false, "must be a JSON object" },
		{ "\"s\"", 0, 16, false, "must be a JSON object" },
		{ "123", 0, 16, false, "must be a JSON object" },
		{ "-1.5", 0, 16, false, "must be a JSON object" },
		{ "true", 0, 16, false, "must be a JSON object" },
		{ "null", 0, 16, false, "must be a JSON object" },
		/* only the first len bytes count */
		{ "{}garbage", 2, 16, true, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct parse_case *c = &cases[i];
		struct verr e = { NULL, "" };
		struct json_object *o;

		o = json_parse_object(c->text, c->len ? c->len : strlen(c->text), c->depth, &e);
		if ((o != NULL) != c->ok || (!c->ok && strstr(e.message, c->msg) == NULL))
			fprintf(stderr, "\n  case %zu \"%s\": %s, \"%s\"\n", i, c->text,
			        o ? "parsed" : "refused", e.message);
		CU_ASSERT_EQUAL(o != NULL, c->ok);
		if (o != NULL) {
			CU_ASSERT_TRUE(json_object_is_type(o, json_type_object));
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(e.message, c->msg));
		}
		json_object_put(o);
	}
}

/* Nests n objects: depth 1 is "{}", 2 is {"a":{}}. */
static char *nested(int n)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 1; i < n; i++)
		buf_puts(&b, "{\"a\":");
	buf_puts(&b, "{}");
	for (i = 1; i < n; i++)
		buf_putc(&b, '}');
	return buf_detach(&b, NULL);
}

static void test_parse_object_caps_depth(void)
{
	struct verr e = { NULL, "" };
	struct json_object *o;
	char *at, *over;

	at = nested(8);
	over = nested(9);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	CU_ASSERT_PTR_NOT_NULL_FATAL(over);
	o = json_parse_object(at, strlen(at), 8, &e);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	o = json_parse_object(over, strlen(over), 8, &e);
	CU_ASSERT_PTR_NULL(o);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "deeper than 8"));
	CU_ASSERT_PTR_NULL(e.field);
	json_object_put(o);
	/* A scalar inside the deepest object is one level more. */
	o = json_parse_object("{\"a\":{\"b\":1}}", 13, 2, &e);
	CU_ASSERT_PTR_NULL(o);
	o = json_parse_object("{\"a\":{\"b\":1}}", 13, 3, &e);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	free(at);
	free(over);
}

/* ---- getters -------------------------------------------------------------------------------- */

static struct json_object *parse_fixture(const char *text)
{
	struct verr e;
	struct json_object *o = json_parse_object(text, strlen(text), 16, &e);

	if (o == NULL)
		fprintf(stderr, "\n  fixture refused: %s\n", e.message);
	return o;
}

struct string_case {
	const char *body;
	unsigned flags;
	size_t min_chars, max_chars, max_bytes;
	int rc;
	const char *want; /* value on success, message otherwise (NULL: no message expected) */
};

static void test_jget_string_table(void)
{
	static const struct string_case cases[] = {
		{ "{\"email\":\"a@b.c\"}", JGET_REQUIRED, 1, 254, 1024, 1, "a@b.c" },
		{ "{\"email\":\"\"}", JGET_REQUIRED, 0, 10, 100, 1, "" },
		{ "{}", JGET_REQUIRED, 1, 254, 1024, -1, "email is required" },
		{ "{}", JGET_OPTIONAL, 1, 254, 1024, 0, NULL },
		{ "{\"email\":null}", JGET_OPTIONAL, 1, 254, 1024, -1, "email must be a string" },
		{ "{\"email\":null}", JGET_NULLABLE, 1, 254, 1024, 0, NULL },
		{ "{\"email\":null}", JGET_REQUIRED | JGET_NULLABLE, 1, 254, 1024, -1, "email is required" },
		{ "{\"email\":42}", JGET_REQUIRED, 1, 254, 1024, -1, "email must be a string" },
		{ "{\"email\":true}", JGET_REQUIRED, 1, 254, 1024, -1, "email must be a string" },
		{ "{\"email\":[\"a\"]}", JGET_REQUIRED, 1, 254, 1024, -1, "email must be a string" },
		{ "{\"email\":{}}", JGET_OPTIONAL, 1, 254, 1024, -1, "email must be a string" },
		{ "{\"email\":\"\"}", JGET_REQUIRED, 1, 254, 1024, -1, "email must not be empty" },
		{ "{\"email\":\"ab\"}", JGET_REQUIRED, 3, 254, 1024, -1,
		  "email must be at least 3 characters" },
		{ "{\"email\":\"abcd\"}", JGET_REQUIRED, 1, 3, 1024, -1,
		  "email must be at most 3 characters" },
		{ "{\"email\":\"abc\"}", JGET_REQUIRED, 3, 3, 1024, 1, "abc" },
		/* bounds are in characters: three 2-byte characters are 3, not 6 */
		{ "{\"email\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", JGET_REQUIRED, 1, 3, 1024, 1,
		  "\xc3\xa9\xc3\xa9\xc3\xa9" },
		{ "{\"email\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}", JGET_REQUIRED, 1, 3, 1024, -1,
		  "email must be at most 3 characters" },
		/* and max_bytes bounds the size */
		{ "{\"email\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", JGET_REQUIRED, 1, 3, 5, -1,
		  "email must be at most 5 bytes" },
		{ "{\"email\":\"\xf0\x9f\x98\x80\"}", JGET_REQUIRED, 1, 1, 4, 1, "\xf0\x9f\x98\x80" },
		/* 0 means no upper bound */
		{ "{\"email\":\"abcdef\"}", JGET_REQUIRED, 0, 0, 0, 1, "abcdef" },
		/* escapes that decode to what UTF-8 must not hold */
		{ "{\"email\":\"a\\u0000b\"}", JGET_REQUIRED, 1, 254, 1024, -1, "email must be valid UTF-8" },
		/* json-c turns a lone surrogate escape into U+FFFD itself */
		{ "{\"email\":\"\\ud800\"}", JGET_REQUIRED, 1, 254, 1024, 1, "\xef\xbf\xbd" },
		{ "{\"email\":\"\\ud83d\\ude00\"}", JGET_REQUIRED, 1, 1, 4, 1, "\xf0\x9f\x98\x80" },
		/* raw bytes json-c lets through but UTF-8 forbids */
		{ "{\"email\":\"\xc0\x80\"}", JGET_REQUIRED, 1, 254, 1024, -1, "email must be valid UTF-8" },
		{ "{\"email\":\"\xed\xa0\x80\"}", JGET_REQUIRED, 1, 254, 1024, -1,
		  "email must be valid UTF-8" },
		{ "{\"email\":\"\xf4\x90\x80\x80\"}", JGET_REQUIRED, 1, 254, 1024, -1,
		  "email must be valid UTF-8" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct string_case *c = &cases[i];
		struct json_object *o = parse_fixture(c->body);
		struct verr e = { NULL, "" };
		const char *out = NULL;
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		rc = jget_string(o, "email", c->flags, c->min_chars, c->max_chars, c->max_bytes, &out, &e);
		if (rc != c->rc)
			fprintf(stderr, "\n  case %zu %s: rc %d \"%s\"\n", i, c->body, rc, e.message);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 1 && c->rc == 1)
			CU_ASSERT_STRING_EQUAL(out, c->want);
		if (rc == -1 && c->rc == -1) {
			CU_ASSERT_PTR_NOT_NULL(strstr(e.message, c->want));
			CU_ASSERT_PTR_NOT_NULL(e.field);
			if (e.field != NULL)
				CU_ASSERT_STRING_EQUAL(e.field, "email");
		}
		if (c->rc == 0)
			CU_ASSERT_PTR_NULL(out);
		json_object_put(o);
	}
}

struct int_case {
	const char *body;
	unsigned flags;
	int64_t min, max;
	int rc;
	int64_t want;
	const char *msg;
};

static void test_jget_int_table(void)
{
	static const struct int_case cases[] = {
		{ "{\"n\":5}", JGET_REQUIRED, 1, 200, 1, 5, NULL },
		{ "{\"n\":1}", JGET_REQUIRED, 1, 200, 1, 1, NULL },
		{ "{\"n\":200}", JGET_REQUIRED, 1, 200, 1, 200, NULL },
		{ "{\"n\":-7}", JGET_REQUIRED, -10, 10, 1, -7, NULL },
		{ "{\"n\":-0}", JGET_REQUIRED, 0, 10, 1, 0, NULL },
		{ "{\"n\":0}", JGET_REQUIRED, 1, 200, -1, 0, "n must be from 1 to 200" },
		{ "{\"n\":201}", JGET_REQUIRED, 1, 200, -1, 0, "n must be from 1 to 200" },
		{ "{}", JGET_REQUIRED, 1, 200, -1, 0, "n is required" },
		{ "{}", JGET_OPTIONAL, 1, 200, 0, 0, NULL },
		{ "{\"n\":null}", JGET_NULLABLE, 1, 200, 0, 0, NULL },
		{ "{\"n\":null}", JGET_OPTIONAL, 1, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":1.5}", JGET_REQUIRED, 1, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":1.0}", JGET_REQUIRED, 1, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":1e2}", JGET_REQUIRED, 1, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":\"1\"}", JGET_REQUIRED, 1, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":true}", JGET_REQUIRED, 0, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":false}", JGET_REQUIRED, 0, 200, -1, 0, "n must be an integer" },
		{ "{\"n\":[1]}", JGET_REQUIRED, 0, 200, -1, 0, "n must be an integer" },
		/* the largest and smallest values json-c can hold are refused: they may be clamped */
		{ "{\"n\":9223372036854775806}", JGET_REQUIRED, INT64_MIN, INT64_MAX, 1, INT64_MAX - 1,
		  NULL },
		{ "{\"n\":-9223372036854775807}", JGET_REQUIRED, INT64_MIN, INT64_MAX, 1, INT64_MIN + 1,
		  NULL },
		{ "{\"n\":9223372036854775807}", JGET_REQUIRED, INT64_MIN, INT64_MAX, -1, 0,
		  "n must be from" },
		{ "{\"n\":9223372036854775808}", JGET_REQUIRED, INT64_MIN, INT64_MAX, -1, 0,
		  "n must be from" },
		{ "{\"n\":18446744073709551616}", JGET_REQUIRED, INT64_MIN, INT64_MAX, -1, 0,
		  "n must be from" },
		{ "{\"n\":99999999999999999999999}", JGET_REQUIRED, INT64_MIN, INT64_MAX, -1, 0,
		  "n must be from" },
		{ "{\"n\":-9223372036854775808}", JGET_REQUIRED, INT64_MIN, INT64_MAX, -1, 0,
		  "n must be from" },
		{ "{\"n\":-9223372036854775809}", JGET_REQUIRED, INT64_MIN, INT64_MAX, -1, 0,
		  "n must be from" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct int_case *c = &cases[i];
		struct json_object *o = parse_fixture(c->body);
		struct verr e = { NULL, "" };
		int64_t out = 12345;
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		rc = jget_int(o, "n", c->flags, c->min, c->max, &out, &e);
		if (rc != c->rc)
			fprintf(stderr, "\n  case %zu %s: rc %d \"%s\"\n", i, c->body, rc, e.message);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 1 && c->rc == 1)
			CU_ASSERT_EQUAL(out, c->want);
		if (rc != 1)
			CU_ASSERT_EQUAL(out, 12345);
		if (rc == -1 && c->rc == -1) {
			CU_ASSERT_PTR_NOT_NULL(strstr(e.message, c->msg));
			CU_ASSERT_PTR_NOT_NULL(e.field);
		}
		json_object_put(o);
	}
}

struct bool_case {
	const char *body;
	unsigned flags;
	int rc;
	bool want;
	const char *msg;
};

static void test_jget_bool_table(void)
{
	static const struct bool_case cases[] = {
		{ "{\"b\":true}", JGET_REQUIRED, 1, true, NULL },
		{ "{\"b\":false}", JGET_REQUIRED, 1, false, NULL },
		{ "{}", JGET_REQUIRED, -1, false, "b is required" },
		{ "{}", JGET_OPTIONAL, 0, false, NULL },
		{ "{\"b\":null}", JGET_NULLABLE, 0, false, NULL },
		{ "{\"b\":null}", JGET_OPTIONAL, -1, false, "b must be true or false" },
		{ "{\"b\":1}", JGET_REQUIRED, -1, false, "b must be true or false" },
		{ "{\"b\":0}", JGET_REQUIRED, -1, false, "b must be true or false" },
		{ "{\"b\":\"true\"}", JGET_REQUIRED, -1, false, "b must be true or false" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct bool_case *c = &cases[i];
		struct json_object *o = parse_fixture(c->body);
		struct verr e = { NULL, "" };
		bool out = !c->want;
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		rc = jget_bool(o, "b", c->flags, &out, &e);
		if (rc != c->rc)
			fprintf(stderr, "\n  case %zu %s: rc %d \"%s\"\n", i, c->body, rc, e.message);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (c->rc == 1)
			CU_ASSERT_EQUAL(out, c->want);
		if (rc == -1 && c->rc == -1)
			CU_ASSERT_PTR_NOT_NULL(strstr(e.message, c->msg));
		json_object_put(o);
	}
}

static void test_jcheck_keys_refuses_unknown_fields(void)
{
	static const char *const allowed[] = { "title", "description", NULL };
	static const char *const none[] = { NULL };
	struct verr e = { NULL, "" };
	struct json_object *o;
	char big[200];

	o = parse_fixture("{\"title\":\"x\",\"description\":null}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(jcheck_keys(o, allowed, &e), 0);
	json_object_put(o);

	o = parse_fixture("{}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(jcheck_keys(o, none, &e), 0);
	json_object_put(o);

	o = parse_fixture("{\"title\":\"x\",\"owner_id\":3}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(jcheck_keys(o, allowed, &e), -1);
	CU_ASSERT_PTR_NOT_NULL(e.field);
	if (e.field != NULL)
		CU_ASSERT_STRING_EQUAL(e.field, "owner_id");
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "owner_id"));
	json_object_put(o);

	/* Keys are compared whole, case-sensitively. */
	o = parse_fixture("{\"Title\":\"x\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(jcheck_keys(o, allowed, &e), -1);
	json_object_put(o);
	o = parse_fixture("{\"titl\":\"x\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(jcheck_keys(o, allowed, &e), -1);
	json_object_put(o);

	/* A very long key is refused without being echoed. */
	memset(big, 'k', sizeof(big));
	memcpy(big, "{\"", 2);
	memcpy(big + sizeof(big) - 8, "\":true}", 8);
	o = parse_fixture(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(jcheck_keys(o, allowed, &e), -1);
	CU_ASSERT_PTR_NULL(e.field);
	CU_ASSERT_PTR_NULL(strstr(e.message, "kkkkkkkk"));
	json_object_put(o);
}

/* ---- utf8_valid ----------------------------------------------------------------------------- */

struct utf8_case {
	const char *s;
	size_t n; /* 0: strlen(s) */
	bool ok;
	size_t chars;
};

static void test_utf8_valid_table(void)
{
	static const struct utf8_case cases[] = {
		{ "", 0, true, 0 },
		{ "hello", 0, true, 5 },
		{ "\x7f", 0, true, 1 },
		{ "\xc2\x80", 0, true, 1 },         /* U+0080, smallest 2-byte */
		{ "\xdf\xbf", 0, true, 1 },         /* U+07FF */
		{ "\xe0\xa0\x80", 0, true, 1 },     /* U+0800, smallest 3-byte */
		{ "\xed\x9f\xbf", 0, true, 1 },     /* U+D7FF, just below the surrogates */
		{ "\xee\x80\x80", 0, true, 1 },     /* U+E000, just above them */
		{ "\xef\xbf\xbf", 0, true, 1 },     /* U+FFFF */
		{ "\xf0\x90\x80\x80", 0, true, 1 }, /* U+10000, smallest 4-byte */
		{ "\xf4\x8f\xbf\xbf", 0, true, 1 }, /* U+10FFFF, the last code point */
		{ "a\xc3\xa9z\xe2\x82\xac", 0, true, 4 },
		{ "\0", 1, false, 0 }, /* NUL */
		{ "a\0b", 3, false, 0 },
		{ "\x80", 0, false, 0 }, /* lone continuation */
		{ "\xbf", 0, false, 0 },
		{ "\xc0\x80", 0, false, 0 },         /* overlong NUL */
		{ "\xc1\xbf", 0, false, 0 },         /* overlong U+007F */
		{ "\xe0\x80\x80", 0, false, 0 },     /* overlong 3-byte */
		{ "\xe0\x9f\xbf", 0, false, 0 },     /* overlong U+07FF */
		{ "\xf0\x80\x80\x80", 0, false, 0 }, /* overlong 4-byte */
		{ "\xf0\x8f\xbf\xbf", 0, false, 0 }, /* overlong U+FFFF */
		{ "\xed\xa0\x80", 0, false, 0 },     /* U+D800 */
		{ "\xed\xbf\xbf", 0, false, 0 },     /* U+DFFF */
		{ "\xf4\x90\x80\x80", 0, false, 0 }, /* U+110000 */
		{ "\xf5\x80\x80\x80", 0, false, 0 },
		{ "\xff", 0, false, 0 },
		{ "\xfe", 0, false, 0 },
		{ "\xc3", 0, false, 0 }, /* truncated */
		{ "\xe2\x82", 0, false, 0 },
		{ "\xf0\x9f\x98", 0, false, 0 },
		{ "\xc3\x28", 0, false, 0 }, /* bad continuation */
		{ "\xe2\x28\xa1", 0, false, 0 },
		{ "\xe2\x82\x28", 0, false, 0 },
		{ "\xf0\x9f\x28\x80", 0, false, 0 },
		/* n cuts a valid sequence short */
		{ "\xc3\xa9", 1, false, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct utf8_case *c = &cases[i];
		size_t n = c->n ? c->n : strlen(c->s);
		size_t chars = 999;
		bool ok;

		ok = utf8_valid(c->s, n, &chars);
		if (ok != c->ok || (ok && chars != c->chars))
			fprintf(stderr, "\n  case %zu: %s, %zu chars\n", i, ok ? "valid" : "invalid", chars);
		CU_ASSERT_EQUAL(ok, c->ok);
		if (c->ok)
			CU_ASSERT_EQUAL(chars, c->chars);
		/* chars may be NULL */
		CU_ASSERT_EQUAL(utf8_valid(c->s, n, NULL), c->ok);
	}
}

/* ---- http_json_body over a memory transport --------------------------------------------------- */

struct mem_io {
	const char *content_type;
	const char *content_length; /* NULL: absent */
	const char *body;
	size_t len, pos;
};

static ssize_t mem_read(void *ctx, char *buf, size_t n)
{
	struct mem_io *m = ctx;
	size_t left = m->len - m->pos;

	/* Small reads, so the body reader must loop. */
	if (n > 7)
		n = 7;
	if (n > left)
		n = left;
	memcpy(buf, m->body + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int mem_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

static const char *mem_param(void *ctx, const char *name)
{
	struct mem_io *m = ctx;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	if (strcmp(name, "REQUEST_URI") == 0)
		return "/projects";
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return m->content_type;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return m->content_length;
	return NULL;
}

struct body_result {
	struct json_object *obj;
	int status;
	char error[64];
	char message[256];
};

/* Runs http_json_body (or the optional variant) over a body; lengths are sent unless omit_length. */
static void run_body(const char *ct, const char *body, size_t len, bool send_length, bool optional,
                     struct body_result *res)
{
	struct config cfg;
	struct app app;
	struct mem_io m = { ct, NULL, body, len, 0 };
	struct http_io io = { .ctx = &m, .read = mem_read, .write = mem_write, .param = mem_param };
	struct http_request req;
	struct http_response resp;
	struct json_object *eo;
	char cl[32];

	memset(res, 0, sizeof(*res));
	CU_ASSERT_EQUAL_FATAL(config_defaults(&cfg), 0);
	cfg.max_json_bytes = 1024;
	cfg.max_json_depth = 4;
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	snprintf(cl, sizeof(cl), "%zu", len);
	if (send_length)
		m.content_length = cl;
	CU_ASSERT_EQUAL_FATAL(http_request_init(&req, &app, &cfg, &io), MERR_OK);
	http_response_init(&resp, false);
	res->obj = optional ? http_json_body_optional(&req, &resp) : http_json_body(&req, &resp);
	res->status = resp.status;
	if (res->obj == NULL) {
		eo = json_tokener_parse(resp.body.data);
		if (eo != NULL) {
			struct json_object *v;

			if (json_object_object_get_ex(eo, "error", &v))
				snprintf(res->error, sizeof(res->error), "%s", json_object_get_string(v));
			if (json_object_object_get_ex(eo, "message", &v))
				snprintf(res->message, sizeof(res->message), "%s", json_object_get_string(v));
		}
		json_object_put(eo);
	}
	http_response_free(&resp);
	http_request_free(&req);
	config_free(&cfg);
}

struct body_case {
	const char *ct;
	const char *body;
	bool send_length;
	bool optional;
	int status; /* 200: an object is returned */
	const char *error;
	const char *msg;
};

static void test_http_json_body_table(void)
{
	static const struct body_case cases[] = {
		{ "application/json", "{\"a\":1}", true, false, 200, NULL, NULL },
		{ "application/json", "{\"a\":1}", false, false, 200, NULL, NULL },
		{ "application/json; charset=utf-8", "{}", true, false, 200, NULL, NULL },
		{ "Application/JSON;charset=UTF-8", "{}", true, false, 200, NULL, NULL },
		{ "application/json ", "{}", true, false, 200, NULL, NULL },
		{ NULL, "{}", true, false, 415, "unsupported_media_type",
		  "Content-Type must be application/json" },
		{ "", "{}", true, false, 415, "unsupported_media_type",
		  "Content-Type must be application/json" },
		{ "text/plain", "{}", true, false, 415, "unsupported_media_type",
		  "Content-Type must be application/json" },
		{ "application/x-www-form-urlencoded", "a=1", true, false, 415, "unsupported_media_type",
		  "Content-Type must be application/json" },
		{ "application/jsonp", "{}", true, false, 415, "unsupported_media_type", NULL },
		{ "application/json-seq", "{}", true, false, 415, "unsupported_media_type", NULL },
		{ "application/json", "", true, false, 400, "bad_request", "request body is required" },
		{ "application/json", "", false, false, 400, "bad_request", "request body is required" },
		{ NULL, "", false, false, 400, "bad_request", "request body is required" },
		{ "application/json", "{\"a\":", true, false, 400, "bad_request", "not valid JSON" },
		{ "application/json", "{} trailing", true, false, 400, "bad_request", "not valid JSON" },
		{ "application/json", "[1,2]", true, false, 400, "bad_request", "must be a JSON object" },
		/* max_json_depth 4: four levels of values, a scalar counting as one */
		{ "application/json", "{\"a\":{\"b\":{\"c\":{}}}}", true, false, 200, NULL, NULL },
		{ "application/json", "{\"a\":{\"b\":{\"c\":1}}}", true, false, 200, NULL, NULL },
		{ "application/json", "{\"a\":{\"b\":{\"c\":[1]}}}", true, false, 400, "bad_request",
		  "deeper than 4" },
		{ "application/json", "{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", true, false, 400, "bad_request",
		  "deeper than 4" },
		/* optional bodies */
		{ NULL, "", true, true, 200, NULL, NULL },
		{ NULL, "", false, true, 200, NULL, NULL },
		{ "application/json", "{\"a\":1}", true, true, 200, NULL, NULL },
		{ "text/plain", "x", true, true, 415, "unsupported_media_type", NULL },
		{ "application/json", "nope", true, true, 400, "bad_request", "not valid JSON" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct body_case *c = &cases[i];
		struct body_result res;

		run_body(c->ct, c->body, strlen(c->body), c->send_length, c->optional, &res);
		if ((res.obj != NULL) != (c->status == 200) || (res.obj == NULL && res.status != c->status))
			fprintf(stderr, "\n  case %zu: status %d \"%s\"\n", i, res.status, res.message);
		if (c->status == 200) {
			CU_ASSERT_PTR_NOT_NULL(res.obj);
			CU_ASSERT_TRUE(json_object_is_type(res.obj, json_type_object));
		} else {
			CU_ASSERT_PTR_NULL(res.obj);
			CU_ASSERT_EQUAL(res.status, c->status);
			CU_ASSERT_STRING_EQUAL(res.error, c->error);
			if (c->msg != NULL)
				CU_ASSERT_PTR_NOT_NULL(strstr(res.message, c->msg));
		}
		json_object_put(res.obj);
	}
}

static void test_http_json_body_caps_size(void)
{
	char body[1100];
	struct body_result res;
	struct json_object *v;

	/* A body of exactly max_json_bytes is read. */
	memset(body, ' ', sizeof(body));
	memcpy(body, "{\"k\":\"", 6);
	memcpy(body + 1024 - 2, "\"}", 2);
	run_body("application/json", body, 1024, true, false, &res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res.obj);
	CU_ASSERT_TRUE(json_object_object_get_ex(res.obj, "k", &v));
	CU_ASSERT_EQUAL(json_object_get_string_len(v), 1024 - 8);
	json_object_put(res.obj);
	/* One more byte is 413, whether Content-Length announces it or not. */
	memcpy(body + 1024 - 2, " \"}", 3);
	run_body("application/json", body, 1025, true, false, &res);
	CU_ASSERT_PTR_NULL(res.obj);
	CU_ASSERT_EQUAL(res.status, 413);
	CU_ASSERT_STRING_EQUAL(res.error, "payload_too_large");
	CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "1024 bytes"));
	run_body("application/json", body, 1025, false, false, &res);
	CU_ASSERT_PTR_NULL(res.obj);
	CU_ASSERT_EQUAL(res.status, 413);
	run_body("application/json", body, 1025, false, true, &res);
	CU_ASSERT_PTR_NULL(res.obj);
	CU_ASSERT_EQUAL(res.status, 413);
}

static void test_resp_verr_sets_400_with_field(void)
{
	struct http_response resp;
	struct verr e = { "title", "title must be at most 200 characters" };
	struct json_object *o, *v;

	http_response_init(&resp, false);
	resp_verr(&resp, &e);
	CU_ASSERT_EQUAL(resp.status, 400);
	o = json_tokener_parse(resp.body.data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "error", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "bad_request");
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "field", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "title");
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "message", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "title must be at most 200 characters");
	json_object_put(o);
	http_response_free(&resp);
}

static const struct unit_test tests[] = {
	{ "parse object: valid, broken, trailing garbage, non-object", test_parse_object_table },
	{ "parse object caps the depth", test_parse_object_caps_depth },
	{ "jget_string types, bounds and UTF-8", test_jget_string_table },
	{ "jget_int types, range and overflow", test_jget_int_table },
	{ "jget_bool types", test_jget_bool_table },
	{ "jcheck_keys refuses unknown fields", test_jcheck_keys_refuses_unknown_fields },
	{ "utf8_valid table", test_utf8_valid_table },
	{ "http_json_body content type, emptiness and syntax", test_http_json_body_table },
	{ "http_json_body caps the size", test_http_json_body_caps_size },
	{ "resp_verr sets 400 with the field", test_resp_verr_sets_400_with_field },
};

UNIT_SUITES(UNIT_SUITE("json_body", NULL, NULL, tests));
