/* fuzz_redis_url.c: libFuzzer target for the strict redis_url parser (kv_url_parse). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/kv.h"
#include "util/buf.h"

/*
 * The input up to a NUL is the URL (operator input, but read from a file or the environment).
 * A URL that parses must give parts within their rules, and the same parts again once printed
 * back as a URL; one that does not gets one line naming the setting.
 */

static bool fz_host_ok(const char *h)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (strchr(h, ':') != NULL)
		return inet_pton(AF_INET6, h, bin) == 1;
	return h[0] != '\0' && strlen(h) <= KV_HOST_MAX &&
	       strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == strlen(h);
}

/* Prints u back as a URL, the password percent-encoded whole. */
static void fz_unparse(const struct kv_url *u, struct buf *out)
{
	size_t i;

	if (u->path != NULL) {
		buf_printf(out, "unix:%s", u->path);
		if (u->dbnum != 0)
			buf_printf(out, "?db=%d", u->dbnum);
		return;
	}
	buf_puts(out, "redis://");
	if (u->password != NULL) {
		buf_putc(out, ':');
		for (i = 0; u->password[i] != '\0'; i++)
			buf_printf(out, "%%%02X", (unsigned char)u->password[i]);
		buf_putc(out, '@');
	}
	buf_printf(out, strchr(u->host, ':') != NULL ? "[%s]:%d/%d" : "%s:%d/%d", u->host, u->port, u->dbnum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_url u, again;
	struct buf back = BUF_INIT;
	char err[256], err2[256];
	struct kv *kv;
	char *url = malloc(size + 1);

	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	err[0] = '\0';
	if (kv_url_parse(url, &u, err, sizeof(err)) != 0) {
		FUZZ_CHECK(u.host == NULL && u.path == NULL && u.password == NULL);
		FUZZ_CHECK(strncmp(err, "redis_url", 9) == 0 && strchr(err, '\n') == NULL);
		kv = kv_new(url, 100, err2, sizeof(err2));
		if (url[0] == '\0') {
			/* Empty: no Redis, by choice (redis_url may be left empty): a handle that never
			 * connects, not an error. */
			FUZZ_CHECK(kv != NULL && !kv_configured(kv));
			kv_free(kv);
		} else {
			FUZZ_CHECK(kv == NULL && strcmp(err, err2) == 0);
		}
		free(url);
		return 0;
	}
	FUZZ_CHECK((u.host == NULL) != (u.path == NULL));
	FUZZ_CHECK(u.dbnum >= 0 && u.dbnum <= KV_DB_MAX);
	if (u.path != NULL) {
		FUZZ_CHECK(u.path[0] == '/' && strlen(u.path) <= KV_SOCKET_PATH_MAX && u.port == 0);
		FUZZ_CHECK(u.password == NULL);
	} else {
		FUZZ_CHECK(fz_host_ok(u.host) && u.port >= 1 && u.port <= 65535);
		FUZZ_CHECK(u.password == NULL || u.password[0] != '\0');
	}
	/* The same URL printed back parses to the same parts. */
	fz_unparse(&u, &back);
	FUZZ_CHECK(!back.failed);
	if (back.len <= KV_URL_MAX) {
		FUZZ_CHECK(kv_url_parse(back.data, &again, err, sizeof(err)) == 0);
		FUZZ_CHECK((u.host == NULL) == (again.host == NULL) &&
		           (u.path == NULL) == (again.path == NULL));
		FUZZ_CHECK(u.host == NULL || strcmp(u.host, again.host) == 0);
		FUZZ_CHECK(u.path == NULL || strcmp(u.path, again.path) == 0);
		FUZZ_CHECK((u.password == NULL) == (again.password == NULL));
		FUZZ_CHECK(u.password == NULL || strcmp(u.password, again.password) == 0);
		FUZZ_CHECK(u.port == again.port && u.dbnum == again.dbnum);
		kv_url_free(&again);
	}
	kv = kv_new(url, 100, err, sizeof(err));
	FUZZ_CHECK(kv != NULL);
	kv_free(kv);
	kv_url_free(&u);
	buf_free(&back);
	free(url);
	return 0;
}
