/* response.c: building and sending responses, and the one JSON error shape. */
#include "config.h"

#include "http/response.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/request.h"

void http_response_init(struct http_response *resp, bool head_only)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	buf_init(&resp->headers);
	buf_init(&resp->body);
	resp->head_only = head_only;
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
}

void http_response_free(struct http_response *resp)
{
	buf_free(&resp->headers);
	buf_free(&resp->body);
}

void resp_header(struct http_response *resp, const char *name, const char *fmt, ...)
{
	size_t mark = resp->headers.len;
	va_list ap;

	buf_puts(&resp->headers, name);
	buf_puts(&resp->headers, ": ");
	va_start(ap, fmt);
	buf_vprintf(&resp->headers, fmt, ap);
	va_end(ap);
	/* Header injection guard: a value with CR or LF is dropped whole. */
	if (strpbrk(resp->headers.data + mark, "\r\n") != NULL) {
		resp->headers.len = mark;
		resp->headers.data[mark] = '\0';
		return;
	}
	buf_puts(&resp->headers, "\r\n");
}

void resp_json(struct http_response *resp, int status, struct json_object *obj)
{
	const char *s;
	size_t len;

	buf_reset(&resp->body);
	if (obj == NULL) {
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return;
	}
	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	                                      &len);
	if (s == NULL || buf_append(&resp->body, s, len) != 0 || buf_putc(&resp->body, '\n') != 0) {
		json_object_put(obj);
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return;
	}
	json_object_put(obj);
	resp->status = status;
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
}

void resp_status(struct http_response *resp, int status)
{
	resp->status = status;
}

void resp_content_type(struct http_response *resp, const char *type)
{
	snprintf(resp->content_type, sizeof(resp->content_type), "%s", type);
}

void resp_body(struct http_response *resp, int status, struct buf *body)
{
	buf_free(&resp->body);
	if (body->failed) {
		buf_free(body);
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return;
	}
	resp->body = *body;
	buf_init(body);
	resp->status = status;
}

void resp_not_found(struct http_response *resp, const char *what, int64_t id)
{
	resp_error(resp, MERR_NOT_FOUND, NULL, "%s %lld not found", what, (long long)id);
}

void resp_error(struct http_response *resp, enum merr e, const char *field, const char *fmt, ...)
{
	char msg[512];
	struct json_object *o;
	const char *s;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = merr_status(e);
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
	buf_reset(&resp->body);
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "error", json_object_new_string(merr_code(e)));
		json_object_object_add(o, "message", json_object_new_string(msg));
		if (field != NULL)
			json_object_object_add(o, "field", json_object_new_string(field));
		s = json_object_to_json_string_length(
		        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		if (s != NULL)
			buf_append(&resp->body, s, len);
		buf_putc(&resp->body, '\n');
		json_object_put(o);
	}
	if (o == NULL || resp->body.failed) {
		/* resp_send answers an empty error body with a fixed one: no allocation needed. */
		buf_free(&resp->body);
		resp->status = 500;
	}
}

static int resp_write_raw(struct http_request *req, struct http_response *resp, const char *p, size_t n)
{
	if (resp->client_gone)
		return -1;
	if (n == 0)
		return 0;
	if (req->io->write(req->io->ctx, p, n) != 0) {
		resp->client_gone = true;
		return -1;
	}
	return 0;
}

int resp_begin(struct http_request *req, struct http_response *resp, long long content_length)
{
	struct buf h = BUF_INIT;
	int rc;

	buf_printf(&h, "Status: %d %s\r\n", resp->status, http_reason(resp->status));
	if (resp->content_type[0] != '\0')
		buf_printf(&h, "Content-Type: %s\r\n", resp->content_type);
	if (content_length >= 0)
		buf_printf(&h, "Content-Length: %lld\r\n", content_length);
	buf_printf(&h, "X-Request-Id: %s\r\n", req->request_id);
	buf_append(&h, resp->headers.data, resp->headers.len);
	buf_puts(&h, "\r\n");
	if (h.failed) {
		buf_free(&h);
		return -1;
	}
	rc = resp_write_raw(req, resp, h.data, h.len);
	resp->headers_sent = true;
	buf_free(&h);
	return rc;
}

int resp_write(struct http_request *req, struct http_response *resp, const char *p, size_t n)
{
	if (resp->head_only)
		return 0;
	return resp_write_raw(req, resp, p, n);
}

int resp_send(struct http_request *req, struct http_response *resp)
{
	if (resp->headers_sent)
		return resp->client_gone ? -1 : 0;
	if (resp->status == 304 || resp->status == 204) {
		resp->content_type[0] = '\0';
		return resp_begin(req, resp, -1);
	}
	if (resp->status >= 400 && resp->body.len == 0) {
		static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}\n";
		if (resp_begin(req, resp, (long long)(sizeof(oom) - 1)) != 0)
			return -1;
		return resp_write(req, resp, oom, sizeof(oom) - 1);
	}
	if (resp_begin(req, resp, (long long)resp->body.len) != 0)
		return -1;
	return resp_write(req, resp, resp->body.data, resp->body.len);
}
