/* test_hooks.c: CUnit tests for media-hooks' parts that need no server: the signature header, the
 * backoff, lease tokens and deadlines, stored text, URL targets and their pins, the socket gate,
 * and the resolver's caps on stuck lookups (with a lookup of the test's own). */
#include "config.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks/deliver.h"
#include "hooks/outbox.h"
#include "hooks/resolve.h"
#include "hooks/sign.h"
#include "hooks/target.h"
#include "unit.h"
#include "util/utf8.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Values from Python's hmac module: hmac.new(key, b"<t>.<body>", hashlib.sha256).hexdigest(). */
static void test_signature_is_hmac_sha256_of_t_dot_body(void)
{
	static const char key[] = "whsec_0123456789abcdef", body[] = "{\"id\":\"x\"}";
	char out[SIGN_HEADER_MAX];

	CU_ASSERT_EQUAL_FATAL(
	        sign_header(key, strlen(key), 1700000000LL, body, strlen(body), out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(
	        out, "t=1700000000,v1=770060346ddf9638ee9bbc8d6403946c9480679bbe3216ada9c05ceb9db9010e");
}

/* A key longer than SHA-256's block is hashed first, as HMAC says; an empty body signs "<t>.". */
static void test_signature_takes_long_keys_and_empty_bodies(void)
{
	char key[100], out[SIGN_HEADER_MAX];

	memset(key, 'k', sizeof(key));
	CU_ASSERT_EQUAL_FATAL(sign_header(key, sizeof(key), 42, "", 0, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out,
	                       "t=42,v1=4db982d05c0ed99947717e4489eb9dcb4eedadae0f4eda7c3b18ded63c766369");
}

static void test_signature_refuses_a_small_buffer(void)
{
	char out[SIGN_HEADER_MAX - 1];

	CU_ASSERT_EQUAL(sign_header("k", 1, 1, "b", 1, out, sizeof(out)), -1);
}

/* Full jitter: 1 s up to base x 2^(n-1), never past the cap, whatever the random number. */
static void test_backoff_doubles_with_full_jitter_up_to_the_cap(void)
{
	static const uint32_t rnds[] = { 0, 1, 9, 10, 12345, 0x7fffffffu, 0xffffffffu };
	int attempt;
	size_t i;

	for (attempt = 1; attempt <= 40; attempt++) {
		long long ceiling = OUTBOX_BACKOFF_BASE_S;

		for (int k = 1; k < attempt && ceiling < OUTBOX_BACKOFF_CAP_S; k++)
			ceiling *= 2;
		if (ceiling > OUTBOX_BACKOFF_CAP_S)
			ceiling = OUTBOX_BACKOFF_CAP_S;
		for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			long long s = outbox_backoff_s(attempt, rnds[i]);

			CU_ASSERT(s >= 1 && s <= ceiling);
		}
	}
	CU_ASSERT_EQUAL(outbox_backoff_s(1, 0), 1);
	CU_ASSERT_EQUAL(outbox_backoff_s(1, 9), 10);
	CU_ASSERT_EQUAL(outbox_backoff_s(1, 10), 1);
	CU_ASSERT_EQUAL(outbox_backoff_s(2, 19), 20);
	CU_ASSERT_EQUAL(outbox_backoff_s(30, OUTBOX_BACKOFF_CAP_S - 1), OUTBOX_BACKOFF_CAP_S);
}

/* ---- lease tokens and deadlines ------------------------------------------------------------- */

/* Two processes of one name (host:pid in two containers) still get different tokens. */
static void test_owner_token_carries_the_nonce_and_the_claim(void)
{
	char a[OUTBOX_OWNER_MAX], b[OUTBOX_OWNER_MAX], longname[200];

	outbox_owner(a, sizeof(a), "web1:42", 0x0123456789abcdefULL, 7);
	CU_ASSERT_STRING_EQUAL(a, "web1:42#0123456789abcdef.7");
	outbox_owner(b, sizeof(b), "web1:42", 0xfedcba9876543210ULL, 7);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	outbox_owner(a, sizeof(a), longname, UINT64_MAX, ~0ULL);
	CU_ASSERT(strlen(a) < OUTBOX_OWNER_MAX);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "#ffffffffffffffff.18446744073709551615"));
}

/* The attempt and its record must end before the lease taken at the claim does. */
static void test_deadline_fits_in_the_lease_or_is_refused(void)
{
	/* claimed at 100 for 60 s (ends 160), 10 s attempts */
	CU_ASSERT_DOUBLE_EQUAL(outbox_deadline(100, 60, 10, 100), 110, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(outbox_deadline(100, 60, 10, 145), 155, 1e-9);
	CU_ASSERT(outbox_deadline(100, 60, 10, 145.5) < 0);
	CU_ASSERT(outbox_deadline(100, 60, 10, 170) < 0);
	CU_ASSERT(outbox_deadline(100, 20, 10, 106) < 0);
}

/* ---- stored text -------------------------------------------------------------------------------- */

/* Invalid UTF-8 (libcurl's buffer cut mid-character, a receiver's bytes) is stored with '?'. */
static void test_text_scrubs_invalid_utf8(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "cut \xc3", "cut ?" },
		{ "cut \xe2\x82", "cut ??" },
		{ "\xff\xfe bom", "?? bom" },
		{ "stray \x80 byte", "stray ? byte" },
		{ "overlong \xc0\xaf", "overlong ??" },
		{ "surrogate \xed\xa0\x80", "surrogate ???" },
		{ "past U+10FFFF \xf4\x90\x80\x80", "past U+10FFFF ????" },
	};
	char out[OUTBOX_ERROR_MAX + 1];

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		outbox_text(cases[i].in, out, sizeof(out));
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
		CU_ASSERT(utf8_valid(out, strlen(out), NULL));
	}
	CU_ASSERT_STRING_EQUAL(outbox_text(NULL, out, sizeof(out)), "");
}

/* A long text is cut to fit, never inside a character. */
static void test_text_is_cut_at_a_character_boundary(void)
{
	char in[1500], out[OUTBOX_ERROR_MAX + 1];
	size_t chars, i;

	/* 'a' then e-acute (2 bytes) x 700: byte 600 falls inside a character */
	in[0] = 'a';
	for (i = 0; i < 700; i++)
		memcpy(in + 1 + 2 * i, "\xc3\xa9", 2);
	in[1 + 2 * 700] = '\0';
	outbox_text(in, out, sizeof(out));
	CU_ASSERT_EQUAL(strlen(out), 599);
	CU_ASSERT(utf8_valid(out, strlen(out), &chars));
	CU_ASSERT_EQUAL(chars, 300);
	CU_ASSERT(strchr(out, '?') == NULL);
	/* a 4-byte character straddling the cut */
	memset(in, 'x', 598);
	memcpy(in + 598, "\xf0\x9f\x98\x80tail", 9);
	outbox_text(in, out, sizeof(out));
	CU_ASSERT_EQUAL(strlen(out), 598);
	CU_ASSERT_EQUAL(utf8_cut(in, 606, 600), 598);
	CU_ASSERT_EQUAL(utf8_cut(in, 606, 602), 602);
	CU_ASSERT_EQUAL(utf8_cut(in, 10, 600), 10);
}

/* ---- targets --------------------------------------------------------------------------------- */

static void test_target_parse_reads_host_port_and_form(void)
{
	static const struct {
		const char *url, *host, *url_host;
		int port;
		bool literal;
	} ok[] = {
		{ "http://example.com/hook", "example.com", "example.com", 80, false },
		{ "https://example.com/hook?x=1", "example.com", "example.com", 443, false },
		{ "https://hooks.example.com:8443/", "hooks.example.com", "hooks.example.com", 8443, false },
		{ "http://93.184.216.34:8080/x", "93.184.216.34", "93.184.216.34", 8080, true },
		{ "https://[2001:db8::1]/x", "2001:db8::1", "[2001:db8::1]", 443, true },
		{ "http://[::ffff:127.0.0.1]:81/", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", 81, true },
		{ "http://localhost:9/", "localhost", "localhost", 9, false },
	};
	struct target t;
	char err[256];

	for (size_t i = 0; i < N_ELEMS(ok); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(target_parse(ok[i].url, &t, err, sizeof(err)), 0);
		if (err[0] != '\0')
			fprintf(stderr, "\n  %s: %s\n", ok[i].url, err);
		CU_ASSERT_STRING_EQUAL(t.host, ok[i].host);
		CU_ASSERT_STRING_EQUAL(t.url_host, ok[i].url_host);
		CU_ASSERT_EQUAL(t.port, ok[i].port);
		CU_ASSERT_EQUAL(t.literal, ok[i].literal);
	}
}

/* Each refusal says why in words of its own (not a confusing one from later on). */
static void test_target_parse_refuses_with_a_clear_reason(void)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "ftp://example.com/x", "only http and https" },
		{ "file:///etc/passwd", "only http and https" },
		{ "http://user:pw@example.com/", "user part" },
		{ "http://[fe80::1%25eth0]/x", "zone ID" },
		{ "http://example.com./x", "ending in a dot" },
		{ "https://hooks.example.com.:8443/", "ending in a dot" },
		{ "not a url", "cannot be parsed" },
	};
	struct target t;
	char err[256];

	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(target_parse(bad[i].url, &t, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fprintf(stderr, "\n  %s: wanted \"%s\", got \"%s\"\n", bad[i].url, bad[i].why, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
	}
}

/* addrs[i] from text, as getaddrinfo gives them (port 0). */
static void addrs_of(struct resolve_addrs *a, const char *const *texts, int n)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < n; i++) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&a->addr[i];
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&a->addr[i];

		if (inet_pton(AF_INET, texts[i], &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
		} else {
			CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, texts[i], &in6->sin6_addr), 1);
			in6->sin6_family = AF_INET6;
		}
	}
	a->n = n;
}

/* CURLOPT_RESOLVE's form: "host:port:addr,[v6addr]", the host as the URL writes it. */
static void test_target_pin_lists_every_checked_address(void)
{
	static const char *const addrs[] = { "93.184.216.34", "2606:2800:220:1::1", "93.184.216.35" };
	struct resolve_addrs a;
	struct target t;
	char err[256], pin[TARGET_PIN_MAX];

	addrs_of(&a, addrs, 3);
	CU_ASSERT_EQUAL_FATAL(target_parse("https://example.com/x", &t, err, sizeof(err)), 0);
	target_pin(&t, &a, pin, sizeof(pin));
	CU_ASSERT_STRING_EQUAL(pin, "example.com:443:93.184.216.34,[2606:2800:220:1::1],93.184.216.35");
	CU_ASSERT_EQUAL_FATAL(target_parse("http://[2001:db8::5]:8080/", &t, err, sizeof(err)), 0);
	addrs_of(&a, addrs + 1, 1);
	target_pin(&t, &a, pin, sizeof(pin));
	CU_ASSERT_STRING_EQUAL(pin, "[2001:db8::5]:8080:[2606:2800:220:1::1]");
}

/* What libcurl hands to its open-socket callback: a struct curl_sockaddr whose addr (a struct
 * sockaddr) has room for an IPv6 address behind it (libcurl's Curl_sockaddr_ex). */
union curl_addr {
	struct curl_sockaddr ca;
	char room[sizeof(struct curl_sockaddr) + sizeof(struct sockaddr_storage)];
};

/* A sockaddr for text and port, as libcurl hands to its open-socket callback. */
static void curl_addr_of(union curl_addr *u, const char *text, int port)
{
	struct curl_sockaddr *ca = &u->ca;
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ca->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ca->addr;

	memset(u, 0, sizeof(*u));
	ca->socktype = SOCK_STREAM;
	ca->protocol = IPPROTO_TCP;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		ca->family = in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		ca->addrlen = sizeof(*in);
	} else {
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		ca->family = in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ca->addrlen = sizeof(*in6);
	}
}

/* Same family and address, whatever the port; nothing else. */
static void test_target_allowed_matches_family_and_address(void)
{
	static const char *const addrs[] = { "93.184.216.34", "2606:2800:220:1::1" };
	struct resolve_addrs a;
	union curl_addr ca;

	addrs_of(&a, addrs, 2);
	curl_addr_of(&ca, "93.184.216.34", 443);
	CU_ASSERT_TRUE(target_allowed(&a, &ca.ca.addr));
	curl_addr_of(&ca, "2606:2800:220:1::1", 8443);
	CU_ASSERT_TRUE(target_allowed(&a, &ca.ca.addr));
	curl_addr_of(&ca, "93.184.216.35", 443);
	CU_ASSERT_FALSE(target_allowed(&a, &ca.ca.addr));
	curl_addr_of(&ca, "127.0.0.1", 443);
	CU_ASSERT_FALSE(target_allowed(&a, &ca.ca.addr));
	curl_addr_of(&ca, "::ffff:93.184.216.34", 443);
	CU_ASSERT_FALSE(target_allowed(&a, &ca.ca.addr));
	curl_addr_of(&ca, "2606:2800:220:1::2", 443);
	CU_ASSERT_FALSE(target_allowed(&a, &ca.ca.addr));
}

/* The socket gate re-checks what libcurl is about to connect to: an address other than the checked
 * ones (a rebinding answer from libcurl's own resolver, a pin that did not apply) gets no socket. */
static void test_open_socket_refuses_an_unchecked_address(void)
{
	static const char *const addrs[] = { "93.184.216.34" };
	struct deliver_xfer x;
	union curl_addr ca;
	curl_socket_t fd;

	memset(&x, 0, sizeof(x));
	addrs_of(&x.addrs, addrs, 1);
	curl_addr_of(&ca, "127.0.0.1", 80);
	CU_ASSERT_EQUAL(deliver_open_socket(&x, CURLSOCKTYPE_IPCXN, &ca.ca), CURL_SOCKET_BAD);
	CU_ASSERT_TRUE(x.refused);
	x.refused = false;
	curl_addr_of(&ca, "169.254.169.254", 80);
	CU_ASSERT_EQUAL(deliver_open_socket(&x, CURLSOCKTYPE_IPCXN, &ca.ca), CURL_SOCKET_BAD);
	CU_ASSERT_TRUE(x.refused);
	/* Only connections are opened: no listening socket (FTP's active mode) */
	x.refused = false;
	curl_addr_of(&ca, "93.184.216.34", 80);
	CU_ASSERT_EQUAL(deliver_open_socket(&x, CURLSOCKTYPE_ACCEPT, &ca.ca), CURL_SOCKET_BAD);
	CU_ASSERT_TRUE(x.refused);
	/* The checked address gets its socket, close-on-exec. */
	x.refused = false;
	fd = deliver_open_socket(&x, CURLSOCKTYPE_IPCXN, &ca.ca);
	CU_ASSERT(fd != CURL_SOCKET_BAD);
	CU_ASSERT_FALSE(x.refused);
	if (fd != CURL_SOCKET_BAD) {
		CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
}

/* ---- the resolver's caps ------------------------------------------------------------------------ */

/* A lookup that never answers until the test says so (bounded: 20 s). */
static pthread_mutex_t stuck_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stuck_cond = PTHREAD_COND_INITIALIZER;
static bool stuck_released;

static int stuck_lookup(const char *host, struct resolve_addrs *out)
{
	struct timespec until;

	(void)host;
	out->n = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&stuck_lock);
	while (!stuck_released)
		if (pthread_cond_timedwait(&stuck_cond, &stuck_lock, &until) != 0)
			break;
	pthread_mutex_unlock(&stuck_lock);
	return EAI_NONAME;
}

/* Starts a lookup of host and abandons it at once (its deadline passed): it keeps running. */
static void start_and_abandon(const char *host, int wake_fd)
{
	struct resolve *r = resolve_start(host, wake_fd);

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	resolve_abandon(r);
}

/*
 * One host whose DNS never answers holds RESOLVE_HOST_ABANDONED_MAX threads and no more (EBUSY: its
 * deliveries wait, the others go on); RESOLVE_ABANDONED_MAX stuck in all refuse every host (EAGAIN)
 * until one ends, and an abandoned lookup that ends writes to the wake pipe (the loop claims
 * again then, not before).
 */
static void test_stuck_lookups_are_capped_per_host_then_in_all(void)
{
	struct resolve *r;
	char host[64], junk[64];
	int fds[2], i, tries;

	CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	stuck_released = false;
	resolve_set_lookup(stuck_lookup);
	for (i = 0; i < RESOLVE_HOST_ABANDONED_MAX; i++)
		start_and_abandon("blackhole.example", fds[1]);
	errno = 0;
	CU_ASSERT_PTR_NULL(resolve_start("blackhole.example", fds[1]));
	CU_ASSERT_EQUAL(errno, EBUSY);
	CU_ASSERT_FALSE(resolve_saturated());
	/* Other hosts still resolve, up to the cap of all. */
	for (i = RESOLVE_HOST_ABANDONED_MAX; i < RESOLVE_ABANDONED_MAX; i++) {
		snprintf(host, sizeof(host), "h%d.example", i);
		start_and_abandon(host, fds[1]);
	}
	CU_ASSERT_TRUE(resolve_saturated());
	errno = 0;
	CU_ASSERT_PTR_NULL(resolve_start("fine.example", fds[1]));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	CU_ASSERT_EQUAL(read(fds[0], junk, sizeof(junk)), -1);
	/* The lookups end: the pipe says so, and the caps are lifted. */
	pthread_mutex_lock(&stuck_lock);
	stuck_released = true;
	pthread_cond_broadcast(&stuck_cond);
	pthread_mutex_unlock(&stuck_lock);
	for (tries = 0; tries < 500 && resolve_saturated(); tries++)
		usleep(10000);
	CU_ASSERT_FALSE(resolve_saturated());
	CU_ASSERT(read(fds[0], junk, sizeof(junk)) > 0);
	/* The threads end one by one: the host's own cap lifts once its last lookup has ended, which
	 * may be after the total dropped below the cap of all. */
	r = NULL;
	for (tries = 0; tries < 500; tries++) {
		errno = 0;
		r = resolve_start("blackhole.example", fds[1]);
		if (r != NULL || errno != EBUSY)
			break;
		usleep(10000);
	}
	CU_ASSERT_PTR_NOT_NULL(r);
	for (tries = 0; r != NULL && tries < 500 && !resolve_done(r); tries++)
		usleep(10000);
	CU_ASSERT(r != NULL && resolve_done(r));
	resolve_abandon(r);
	resolve_set_lookup(NULL);
	/* The pipe stays open: a thread may still be writing its byte. */
}

static const struct unit_test tests[] = {
	{ "signature is HMAC-SHA256 of t.body", test_signature_is_hmac_sha256_of_t_dot_body },
	{ "signature takes long keys and empty bodies", test_signature_takes_long_keys_and_empty_bodies },
	{ "signature refuses a small buffer", test_signature_refuses_a_small_buffer },
	{ "backoff doubles with full jitter up to the cap",
	  test_backoff_doubles_with_full_jitter_up_to_the_cap },
	{ "owner token carries the nonce and the claim", test_owner_token_carries_the_nonce_and_the_claim },
	{ "deadline fits in the lease or is refused", test_deadline_fits_in_the_lease_or_is_refused },
	{ "text scrubs invalid UTF-8", test_text_scrubs_invalid_utf8 },
	{ "text is cut at a character boundary", test_text_is_cut_at_a_character_boundary },
	{ "target_parse reads host, port and form", test_target_parse_reads_host_port_and_form },
	{ "target_parse refuses with a clear reason", test_target_parse_refuses_with_a_clear_reason },
	{ "target_pin lists every checked address", test_target_pin_lists_every_checked_address },
	{ "target_allowed matches family and address", test_target_allowed_matches_family_and_address },
	{ "open socket refuses an unchecked address", test_open_socket_refuses_an_unchecked_address },
	{ "stuck lookups are capped per host, then in all",
	  test_stuck_lookups_are_capped_per_host_then_in_all },
};

UNIT_SUITES(UNIT_SUITE("hooks", NULL, NULL, tests));
