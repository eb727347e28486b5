/* itest.c: libcurl helpers shared by the integration test programs. */
#include "config.h"

#include "itest.h"

#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "util/buf.h"

extern char **environ;

const char *itest_base(void)
{
	const char *b = getenv("MEDIAD_BASE_URL");

	if (b == NULL || *b == '\0') {
		fprintf(stderr, "MEDIAD_BASE_URL is not set: run integration tests through the harness "
		                "(tests/integration/run-lighttpd.sh)\n");
		exit(2);
	}
	return b;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;

	if (buf_append(b, p, size * n) != 0)
		return 0;
	return size * n;
}

int itest_request(const char *method, const char *path, const char *const *headers, const char *body,
                  size_t body_len, struct itest_resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf url = BUF_INIT, bb = BUF_INIT, hb = BUF_INIT;
	CURLcode cc;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return -1;
	buf_printf(&url, "%s%s", itest_base(), path);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	for (; headers != NULL && *headers != NULL; headers++)
		hl = curl_slist_append(hl, *headers);
	/* No "Expect: 100-continue" round trip; a test controls exactly what is sent. */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "itest: %s %s: %s\n", method, path, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = buf_detach(&bb, &r->body_len);
	r->headers = buf_detach(&hb, NULL);
	if (r->body != NULL && r->body_len > 0)
		r->json = json_tokener_parse(r->body);
	rc = 0;
out:
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	buf_free(&url);
	buf_free(&bb);
	buf_free(&hb);
	return rc;
}

int itest_json(const char *method, const char *path, const char *token, const char *json, struct itest_resp *r)
{
	char auth[4096];
	const char *h[3] = { "Content-Type: application/json", NULL, NULL };

	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h[1] = auth;
	}
	return itest_request(method, path, h, json, json ? strlen(json) : 0, r);
}

void itest_resp_free(struct itest_resp *r)
{
	free(r->body);
	free(r->headers);
	if (r->json != NULL)
		json_object_put(r->json);
	memset(r, 0, sizeof(*r));
}

bool itest_header(const struct itest_resp *r, const char *name, char *out, size_t outlen)
{
	const char *line = r->headers;
	size_t nlen = strlen(name);

	while (line != NULL && *line != '\0') {
		const char *eol = strstr(line, "\r\n");
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (len > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - line)), v);
			return true;
		}
		line = eol ? eol + 2 : NULL;
	}
	return false;
}

const char *itest_jstr(const struct itest_resp *r, const char *key)
{
	struct json_object *v;

	if (r->json == NULL || !json_object_object_get_ex(r->json, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int itest_run_tool(const char *name)
{
	const char *dir = getenv("MEDIAD_TEST_DIR");
	char path[4096];
	char *argv[2];
	pid_t pid;
	int status;

	if (dir == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	argv[0] = path;
	argv[1] = NULL;
	if (posix_spawn(&pid, path, NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool itest_wait_status(const char *path, long want_status, int timeout_ms)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 100) {
		struct itest_resp r;

		if (itest_request("GET", path, NULL, NULL, 0, &r) == 0) {
			long st = r.status;
			itest_resp_free(&r);
			if (st == want_status)
				return true;
		}
		nanosleep(&pause, NULL);
	}
	return false;
}

int itest_run_all(void)
{
	unsigned failures;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
