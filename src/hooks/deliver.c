/* deliver.c: the HTTP side of webhook delivery, all of it libcurl's (deliver.h). */
#include "config.h"

#include "hooks/deliver.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "hooks/sign.h"
#include "util/utf8.h"

#define USER_AGENT "mediad-webhooks/" PACKAGE_VERSION

int deliver_init(struct deliver *d)
{
	d->multi = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	d->multi = curl_multi_init();
	return d->multi != NULL ? 0 : -1;
}

void deliver_free(struct deliver *d)
{
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	d->multi = NULL;
	curl_global_cleanup();
}

/* Keeps the first OUTBOX_BODY_MAX bytes of the answer; past them, ends the transfer (its status is
 * known by then, and nothing more of it is kept): a receiver cannot hold us with an endless body. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct deliver_xfer *x = ud;
	size_t len = size * n, room = OUTBOX_BODY_MAX - x->body_len;

	if (len > room) {
		memcpy(x->body + x->body_len, p, room);
		x->body_len += room;
		x->body_full = true;
		return 0;
	}
	memcpy(x->body + x->body_len, p, len);
	x->body_len += len;
	return len;
}

curl_socket_t deliver_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct deliver_xfer *x = ud;

	if (purpose != CURLSOCKTYPE_IPCXN || !target_allowed(&x->addrs, &a->addr)) {
		x->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int deliver_start(struct deliver *d, struct deliver_xfer *x, const struct deliver_req *q, char *err,
                  size_t errlen)
{
	char line[64 + SIGN_HEADER_MAX], pin[TARGET_PIN_MAX];
	CURL *e;
	bool ok = true;

	memset(x, 0, sizeof(*x));
	x->addrs = *q->addrs;
	e = curl_easy_init();
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->easy = e;
	x->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before the body. */
	x->headers = x->headers ? curl_slist_append(x->headers, "Expect:") : NULL;
	snprintf(line, sizeof(line), "Mediad-Event-Id: %s", q->event_id);
	x->headers = x->headers ? curl_slist_append(x->headers, line) : NULL;
	snprintf(line, sizeof(line), "Mediad-Signature: %s", q->signature);
	x->headers = x->headers ? curl_slist_append(x->headers, line) : NULL;
	if (!q->target->literal) {
		target_pin(q->target, q->addrs, pin, sizeof(pin));
		x->pin = curl_slist_append(NULL, pin);
		ok = x->pin != NULL;
	}
	ok = ok && x->headers != NULL;
	ok = ok && curl_easy_setopt(e, CURLOPT_URL, q->url) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	/* No proxy, whatever http_proxy and friends say: the checked address is the one reached. */
	ok = ok && curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK;
	ok = ok && (x->pin == NULL || curl_easy_setopt(e, CURLOPT_RESOLVE, x->pin) == CURLE_OK);
	ok = ok && curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, deliver_open_socket) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, q->timeout_ms) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, q->timeout_ms) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, x) == CURLE_OK;
	ok = ok && curl_multi_add_handle(d->multi, e) == CURLM_OK;
	if (!ok) {
		snprintf(err, errlen, "libcurl refused the request's settings");
		curl_easy_cleanup(e);
		x->easy = NULL;
		deliver_xfer_free(d, x);
		return -1;
	}
	return 0;
}

int deliver_wait(struct deliver *d, struct curl_waitfd *extra, unsigned n, int timeout_ms)
{
	CURLMcode mc;
	int running = 0;

	mc = curl_multi_poll(d->multi, extra, n, timeout_ms, NULL);
	if (mc == CURLM_OK)
		mc = curl_multi_perform(d->multi, &running);
	if (mc != CURLM_OK) {
		log_error("libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	return 0;
}

/* Fills in x's result from how its transfer ended. */
static void xfer_result(struct deliver_xfer *x, CURLcode rc)
{
	long status = 0;

	x->done = true;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->status = (int)status;
	x->body[x->body_len] = '\0';
	/* Bytes that are not UTF-8 (a character cut at the limit, a binary answer, NUL) become '?':
	 * the column is text. */
	utf8_scrub(x->body, x->body_len);
	if (x->refused)
		snprintf(x->error, sizeof(x->error),
		         "refused to connect to an address other than the ones checked");
	else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->body_full))
		/* errbuf names the host and the error, never the URL's path or our headers. */
		snprintf(x->error, sizeof(x->error), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	else if (!deliver_ok(x))
		snprintf(x->error, sizeof(x->error), "HTTP %d", x->status);
}

struct deliver_xfer *deliver_next_done(struct deliver *d)
{
	struct deliver_xfer *x = NULL;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x) != CURLE_OK || x == NULL)
			continue;
		xfer_result(x, m->data.result);
		return x;
	}
	return NULL;
}

bool deliver_ok(const struct deliver_xfer *x)
{
	return x->error[0] == '\0' && x->status >= 200 && x->status <= 299;
}

void deliver_xfer_free(struct deliver *d, struct deliver_xfer *x)
{
	if (x->easy != NULL) {
		curl_multi_remove_handle(d->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->pin);
	x->easy = NULL;
	x->headers = x->pin = NULL;
}
