/* fuzz_json_body.c: libFuzzer target for JSON request bodies, through the handlers' entry point. */
#include "config.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "app.h"
#include "core/config.h"
#include "fuzz.h"
#include "http/json_body.h"
#include "http/request.h"
#include "http/response.h"
#include "util/utf8.h"

/*
 * Input: two control bytes, then the body.
 *   byte 0: bit 0 optional body (http_json_body_optional), bits 1-4 the depth cap (2..17),
 *           bit 5 a small size cap (1024 bytes, else the default 65536), bits 6-7 the
 *           Content-Length: right, absent, one too many, one too few;
 *   byte 1: bits 0-2 the Content-Type, bits 3-7 how many bytes each read returns (1..31, 0: all).
 * The body goes through http_json_body as a handler calls it (transport, caps, Content-Type,
 * depth, the object check, the error response), then through jcheck_keys and the jget_*
 * getters with the field rules of the real handlers.
 */

struct fz_io {
	const uint8_t *body;
	size_t len, off, step;
	const char *content_type;
	char content_length[32]; /* "" when absent */
};

static ssize_t fz_read(void *ctx, char *buf, size_t n)
{
	struct fz_io *io = ctx;
	size_t k = io->len - io->off;

	if (k > n)
		k = n;
	if (io->step != 0 && k > io->step)
		k = io->step;
	memcpy(buf, io->body + io->off, k);
	io->off += k;
	return (ssize_t)k;
}

static int fz_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

static const char *fz_param(void *ctx, const char *name)
{
	struct fz_io *io = ctx;

	if (strcmp(name, "CONTENT_TYPE") == 0)
		return io->content_type;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return io->content_length[0] != '\0' ? io->content_length : NULL;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	return NULL;
}

/* Levels of values as json-c counts them for its depth cap: {} is 1, {"a":1} and {"a":{}} 2. */
static int fz_depth(struct json_object *o)
{
	int d = 0, k;
	size_t i;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			k = fz_depth(val);
			if (k > d)
				d = k;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++) {
			k = fz_depth(json_object_array_get_idx(o, i));
			if (k > d)
				d = k;
		}
	} else {
		return 1;
	}
	return d + 1;
}

/* A string getter's answer must keep its promise: valid UTF-8, no NUL, within the bounds. */
static void fz_string(struct json_object *obj, const char *field, unsigned flags, size_t min_chars,
                      size_t max_chars, size_t max_bytes)
{
	struct verr e = { NULL, "" };
	const char *s = NULL;
	size_t chars = 0;
	int rc = jget_string(obj, field, flags, min_chars, max_chars, max_bytes, &s, &e);

	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == -1)
		FUZZ_CHECK(e.message[0] != '\0' && strlen(e.message) < sizeof(e.message));
	if (rc != 1)
		return;
	FUZZ_CHECK(s != NULL && utf8_valid(s, strlen(s), &chars));
	FUZZ_CHECK(strlen(s) == (size_t)json_object_get_string_len(json_object_object_get(obj, field)));
	FUZZ_CHECK(chars >= min_chars && (max_chars == 0 || chars <= max_chars));
	FUZZ_CHECK(max_bytes == 0 || strlen(s) <= max_bytes);
}

static void fz_int(struct json_object *obj, const char *field, unsigned flags, int64_t min, int64_t max)
{
	struct verr e = { NULL, "" };
	int64_t v = 0;
	int rc = jget_int(obj, field, flags, min, max, &v, &e);

	FUZZ_CHECK(rc >= -1 && rc <= 1);
	FUZZ_CHECK(rc != 1 || (v >= min && v <= max));
	FUZZ_CHECK(rc != -1 || e.message[0] != '\0');
}

/* What the handlers do with a body: projects (title, description), jobs (assetId, preset),
 * analytics (projectId, eventType), auth (email, password), and a flag. */
static void fz_fields(struct json_object *obj)
{
	static const char *const projects[] = { "title", "description", NULL };
	static const char *const jobs[] = { "assetId", "preset", NULL };
	struct verr e = { NULL, "" };
	bool b = false;
	int rc;

	rc = jcheck_keys(obj, projects, &e);
	FUZZ_CHECK(rc == 0 || (rc == -1 && e.message[0] != '\0'));
	FUZZ_CHECK(rc == -1 || json_object_object_length(obj) <= 2);
	rc = jcheck_keys(obj, jobs, &e);
	FUZZ_CHECK(rc == 0 || rc == -1);
	fz_string(obj, "title", JGET_REQUIRED, 1, 200, 800);
	fz_string(obj, "description", JGET_NULLABLE, 0, 5000, 20000);
	fz_int(obj, "assetId", JGET_NULLABLE, 1, INT64_MAX - 1);
	fz_string(obj, "preset", JGET_NULLABLE, 1, 32, 32);
	fz_int(obj, "projectId", JGET_REQUIRED, 1, INT64_MAX - 1);
	fz_string(obj, "eventType", JGET_REQUIRED, 1, 32, 64);
	fz_string(obj, "email", JGET_REQUIRED, 1, 1024, 1024);
	fz_int(obj, "count", JGET_OPTIONAL, -5, 5);
	rc = jget_bool(obj, "public", JGET_NULLABLE, &b, &e);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"application/json",
		"application/json; charset=utf-8",
		" APPLICATION/JSON ",
		"application/json;",
		"text/plain",
		"application/jsonx",
		"",
		NULL,
	};
	struct config cfg;
	struct app app;
	struct fz_io fio;
	struct http_io io = { .ctx = &fio, .read = fz_read, .write = fz_write, .param = fz_param };
	struct http_request req;
	struct http_response resp;
	struct json_object *obj, *direct, *err;
	struct verr e = { NULL, "" };
	uint8_t *body;
	bool optional;
	int depth;

	if (size < 2)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	optional = data[0] & 1;
	depth = 2 + ((data[0] >> 1) & 15);
	cfg.max_json_depth = depth;
	cfg.max_json_bytes = (data[0] & 0x20) ? 1024 : 65536;
	/* A copy of exactly the body, so ASan catches a read past it. */
	body = malloc(size - 2 > 0 ? size - 2 : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 2, size - 2);
	memset(&fio, 0, sizeof(fio));
	fio.body = body;
	fio.len = size - 2;
	fio.step = data[1] >> 3;
	fio.content_type = types[data[1] & 7];
	switch (data[0] >> 6) {
	case 0:
		snprintf(fio.content_length, sizeof(fio.content_length), "%zu", fio.len);
		break;
	case 1:
		break;
	case 2:
		snprintf(fio.content_length, sizeof(fio.content_length), "%zu", fio.len + 1);
		break;
	default:
		snprintf(fio.content_length, sizeof(fio.content_length), "%zu", fio.len ? fio.len - 1 : 0);
		break;
	}

	FUZZ_CHECK(http_request_init(&req, &app, &cfg, &io) == MERR_OK);
	http_response_init(&resp, false);
	obj = optional ? http_json_body_optional(&req, &resp) : http_json_body(&req, &resp);
	if (obj != NULL) {
		FUZZ_CHECK(json_object_is_type(obj, json_type_object));
		FUZZ_CHECK(resp.status == 200 && resp.body.len == 0);
		FUZZ_CHECK(fz_depth(obj) <= depth);
		FUZZ_CHECK(fio.len <= (size_t)cfg.max_json_bytes);
		fz_fields(obj);
		json_object_put(obj);
	} else {
		/* One error shape: a JSON object with the code and a message. */
		FUZZ_CHECK(resp.status == 400 || resp.status == 413 || resp.status == 415 ||
		           resp.status == 500);
		err = json_tokener_parse(resp.body.data);
		FUZZ_CHECK(err != NULL && json_object_is_type(err, json_type_object));
		FUZZ_CHECK(json_object_is_type(json_object_object_get(err, "error"), json_type_string));
		FUZZ_CHECK(json_object_is_type(json_object_object_get(err, "message"), json_type_string));
		json_object_put(err);
	}
	/* The parser alone agrees with the entry point whenever transport and caps let it through. */
	if (fio.len > 0 && (data[0] >> 6) <= 1 && fio.len <= (size_t)cfg.max_json_bytes &&
	    (data[1] & 7) <= 3) {
		direct = json_parse_object((const char *)body, fio.len, depth, &e);
		FUZZ_CHECK((direct != NULL) == (resp.status == 200));
		FUZZ_CHECK(direct != NULL || e.message[0] != '\0');
		json_object_put(direct);
	}
	http_response_free(&resp);
	http_request_free(&req);
	free(body);
	return 0;
}
