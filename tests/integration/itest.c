/* itest.c: helpers shared by the integration test programs (libcurl, the API, processes, /proc). */
#include "config.h"

#include "itest.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <regex.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"

extern char **environ;

/* ---- set-up ------------------------------------------------------------------------------------ */

int itest_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return CU_initialize_registry() == CUE_SUCCESS ? 0 : -1;
}

int itest_run_all(void)
{
	unsigned failures;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	curl_global_cleanup();
	return failures ? 1 : 0;
}

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

/* ---- HTTP -------------------------------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;

	if (buf_append(b, p, size * n) != 0)
		return 0;
	return size * n;
}

int itest_send(const struct itest_req *q, struct itest_resp *r)
{
	CURL *c = curl_easy_init();
	curl_mime *mime = NULL;
	struct curl_slist *hl = NULL;
	struct buf url = BUF_INIT, bb = BUF_INIT, hb = BUF_INIT, auth = BUF_INIT;
	const char *method = q->method;
	const char *const *h;
	CURLcode cc;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return -1;
	if (method == NULL)
		method = q->body != NULL || q->file != NULL ? "POST" : "GET";
	buf_printf(&url, "%s%s", itest_base(), q->path);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	for (h = q->headers; h != NULL && *h != NULL; h++)
		hl = curl_slist_append(hl, *h);
	if (q->token != NULL) {
		buf_printf(&auth, "Authorization: Bearer %s", q->token);
		hl = curl_slist_append(hl, auth.data);
	}
	/* No "Expect: 100-continue" round trip; a test controls exactly what is sent. */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (q->file != NULL) {
		curl_mimepart *part;

		mime = curl_mime_init(c);
		part = curl_mime_addpart(mime);
		curl_mime_name(part, q->field != NULL ? q->field : "file");
		curl_mime_filedata(part, q->file);
		if (q->filename != NULL)
			curl_mime_filename(part, q->filename);
		if (q->extra_name != NULL) {
			part = curl_mime_addpart(mime);
			curl_mime_name(part, q->extra_name);
			curl_mime_data(part, q->extra_value, CURL_ZERO_TERMINATED);
		}
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	} else if (q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	if (q->iface != NULL)
		curl_easy_setopt(c, CURLOPT_INTERFACE, q->iface);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "itest: %s %s: %s\n", method, q->path, curl_easy_strerror(cc));
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
	curl_mime_free(mime);
	curl_easy_cleanup(c);
	buf_free(&url);
	buf_free(&bb);
	buf_free(&hb);
	buf_free(&auth);
	return rc;
}

int itest_request(const char *method, const char *path, const char *const *headers, const char *body,
                  size_t body_len, struct itest_resp *r)
{
	const struct itest_req q = {
		.method = method, .path = path, .headers = headers, .body = body, .body_len = body_len
	};

	return itest_send(&q, r);
}

int itest_json(const char *method, const char *path, const char *token, const char *json,
               struct itest_resp *r)
{
	static const char *const h[] = { "Content-Type: application/json", NULL };
	const struct itest_req q = { .method = method,
		                     .path = path,
		                     .headers = h,
		                     .token = token,
		                     .body = json,
		                     .body_len = json ? strlen(json) : 0 };

	return itest_send(&q, r);
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
	return itest_member_str(r->json, key);
}

void itest_assert_error(const struct itest_resp *r, long status, const char *code)
{
	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(r, "error"));
	if (itest_jstr(r, "error") != NULL)
		CU_ASSERT_STRING_EQUAL(itest_jstr(r, "error"), code);
}

bool itest_wait_status(const char *path, long want_status, int timeout_ms)
{
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 100) {
		struct itest_resp r;

		if (itest_request("GET", path, NULL, NULL, 0, &r) == 0) {
			long st = r.status;
			itest_resp_free(&r);
			if (st == want_status)
				return true;
		}
		itest_sleep_ms(100);
	}
	return false;
}

int itest_connect(int rcvbuf)
{
	const char *port = strrchr(itest_base(), ':');
	struct sockaddr_in sa;
	int fd;

	if (port == NULL)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)strtol(port + 1, NULL, 10));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	/* Before connecting, so the window the server sees is the small one. */
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the API: users, projects, media ------------------------------------------------------------ */

void itest_unique_email(char *out, size_t n, const char *tag)
{
	static unsigned seq;

	snprintf(out, n, "%s-%ld-%d-%u@example.com", tag, (long)time(NULL), (int)getpid(), ++seq);
}

void itest_login(char *tok, size_t n, char *email, size_t elen, const char *tag)
{
	char addr[256], body[512];
	struct itest_resp r;

	itest_unique_email(addr, sizeof(addr), tag);
	if (email != NULL)
		snprintf(email, elen, "%s", addr);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"Password123\"}", addr);
	CU_ASSERT_FATAL(itest_json("POST", "/auth/register", NULL, body, &r) == 0 && r.status == 201);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("POST", "/auth/login", NULL, body, &r) == 0 && r.status == 200);
	CU_ASSERT_FATAL(itest_jstr(&r, "token") != NULL);
	snprintf(tok, n, "%s", itest_jstr(&r, "token"));
	itest_resp_free(&r);
}

long long itest_new_project(const char *tok, const char *title, const char *description)
{
	char body[512];
	struct itest_resp r;
	long long id = -1;

	if (description != NULL)
		snprintf(body, sizeof(body), "{\"title\":\"%s\",\"description\":\"%s\"}", title, description);
	else
		snprintf(body, sizeof(body), "{\"title\":\"%s\"}", title);
	if (itest_json("POST", "/projects", tok, body, &r) == 0 && r.status == 201)
		id = itest_member_int(r.json, "id");
	itest_resp_free(&r);
	return id;
}

/* DELETE path as tok; asserts 204 when the request went through. */
static void delete_ok(const char *tok, const char *path)
{
	struct itest_resp r;

	if (itest_json("DELETE", path, tok, NULL, &r) == 0)
		CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
}

void itest_delete_project(const char *tok, long long id)
{
	char path[64];

	snprintf(path, sizeof(path), "/projects/%lld", id);
	delete_ok(tok, path);
}

void itest_delete_media(const char *tok, long long id)
{
	char path[64];

	snprintf(path, sizeof(path), "/media/%lld", id);
	delete_ok(tok, path);
}

/* ---- JSON and text ------------------------------------------------------------------------------ */

struct json_object *itest_member(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (o != NULL)
		json_object_object_get_ex(o, k, &v);
	return v;
}

long long itest_member_int(struct json_object *o, const char *k)
{
	struct json_object *v = itest_member(o, k);

	return v != NULL && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

const char *itest_member_str(struct json_object *o, const char *k)
{
	struct json_object *v = itest_member(o, k);

	return v != NULL && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool itest_member_null(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o != NULL && json_object_object_get_ex(o, k, &v) && v == NULL;
}

bool itest_matches(const char *s, const char *re)
{
	regex_t rx;
	bool ok;

	if (s == NULL || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

time_t itest_parse_rfc3339_utc(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = 0;
	const char *rest;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
	    used != 19)
		return -1;
	rest = s + used;
	if (*rest == '.') {
		rest++;
		if (!isdigit((unsigned char)*rest))
			return -1;
		while (isdigit((unsigned char)*rest))
			rest++;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* ---- child processes, time ---------------------------------------------------------------------- */

int itest_run_capture(const char *const argv[], char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	int p[2], st;
	size_t len = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* posix_spawn does not modify argv; its prototype predates const. */
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	/* Read to the end even past outlen: a child blocked on a full pipe would never exit. */
	for (;;) {
		char sink[4096];
		ssize_t n;

		if (out != NULL && len + 1 < outlen)
			n = read(p[0], out + len, outlen - 1 - len);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out != NULL && len + 1 < outlen)
			len += (size_t)n;
	}
	close(p[0]);
	if (out != NULL && outlen > 0)
		out[len] = '\0';
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int itest_run(const char *const argv[])
{
	return itest_run_capture(argv, NULL, 0);
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

void itest_sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

long long itest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int itest_dir_count(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	for (;;) {
		struct dirent *de = readdir(d);

		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    (part == NULL || strstr(de->d_name, part) != NULL))
			n++;
	}
	closedir(d);
	return n;
}

/* ---- /proc -------------------------------------------------------------------------------------- */

bool itest_proc_read(pid_t pid, struct itest_proc *p)
{
	char path[64], line[512], *lp, *rp;
	FILE *f;
	long ppid;
	char state;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return false;
	}
	fclose(f);
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so it ends at the last ')'. */
	lp = strchr(line, '(');
	rp = strrchr(line, ')');
	if (lp == NULL || rp == NULL || rp < lp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2)
		return false;
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = (pid_t)ppid;
	p->state = state;
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(rp - lp - 1), lp + 1);
	return true;
}

int itest_proc_scan(bool (*match)(const struct itest_proc *p, void *ud), void *ud, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	int n = 0;

	if (d == NULL)
		return -1;
	while (n < max) {
		struct dirent *de = readdir(d);
		struct itest_proc p;
		char *end;
		long pid;

		if (de == NULL)
			break;
		pid = strtol(de->d_name, &end, 10);
		if (end == de->d_name || *end != '\0' || pid <= 0)
			continue;
		if (itest_proc_read((pid_t)pid, &p) && match(&p, ud))
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

int itest_fcgi_put(int fd, unsigned char type, const unsigned char *content, size_t len)
{
	unsigned char h[8] = { 1, type, 0, 1, (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	return write(fd, h, 8) == 8 && (len == 0 || write(fd, content, len) == (ssize_t)len) ? 0 : -1;
}

size_t itest_fcgi_pair(unsigned char *p, const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v);

	p[0] = (unsigned char)kl;
	p[1] = (unsigned char)vl;
	memcpy(p + 2, k, kl);
	memcpy(p + 2 + kl, v, vl);
	return 2 + kl + vl;
}

unsigned char *itest_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	struct stat st;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
		p = malloc((size_t)st.st_size);
		if (p != NULL && fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			free(p);
			p = NULL;
		}
		*len = p != NULL ? (size_t)st.st_size : 0;
	}
	fclose(f);
	return p;
}

bool itest_query_param(const char *rel, const char *name, char *out, size_t n)
{
	const char *p = strchr(rel, '?');
	size_t nl = strlen(name);

	while (p != NULL) {
		p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t len = strcspn(p + nl + 1, "&#");

			snprintf(out, n, "%.*s", (int)len, p + nl + 1);
			return true;
		}
		p = strchr(p, '&');
	}
	return false;
}
