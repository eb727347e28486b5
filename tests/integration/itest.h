/* itest.h: helpers for integration tests: libcurl against the stack the harness started, the API
 * calls every program needs, child processes, time and /proc. */
#ifndef MEDIAD_ITEST_H
#define MEDIAD_ITEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct itest_resp {
	long status;
	char *body; /* NUL-terminated */
	size_t body_len;
	char *headers;            /* raw header block, NUL-terminated */
	struct json_object *json; /* parsed body, or NULL when it is not JSON */
};

/* One request for itest_send. Members left NULL (or 0) are not sent. */
struct itest_req {
	const char *method;         /* NULL: POST when there is a body or a file, else GET */
	const char *path;           /* relative to the base URL, query included */
	const char *const *headers; /* extra header lines, NULL-terminated */
	const char *token;          /* sent as "Authorization: Bearer <token>" after the headers */
	const char *body;           /* body_len bytes sent as they are ("" sends Content-Length: 0) */
	size_t body_len;
	const char *iface;       /* the source address or interface to connect from (CURLOPT_INTERFACE) */
	const char *file;        /* a multipart/form-data upload of this file; body is then ignored */
	const char *field;       /* the file's field name; NULL: "file" */
	const char *filename;    /* the file name sent; NULL: the file's own base name */
	const char *extra_name;  /* an optional text field sent after the file... */
	const char *extra_value; /* ...and its value */
};

/* A process as /proc/<pid>/stat shows it. */
struct itest_proc {
	pid_t pid, ppid;
	char state;    /* 'R', 'S', 'Z'... */
	char comm[64]; /* the kernel's name for it (its executable's, cut to 15 bytes) */
};

/* The regular expression (POSIX extended) of a UUID in lower-case hex, anchored. */
#define ITEST_UUID_RE "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

/* ---- set-up ------------------------------------------------------------------------------------ */

/* Initialises libcurl and the CUnit registry, in that order. Returns 0, or -1 when CUnit fails. */
int itest_init(void);
/* Standard main body: runs the registered suites, frees the registry and libcurl (itest_init's).
 * Returns the process exit code: 0 when every test passed, else 1. */
int itest_run_all(void);
/* The base URL from MEDIAD_BASE_URL (exits the program with a message when unset). */
const char *itest_base(void);

/* ---- HTTP -------------------------------------------------------------------------------------- */

/*
 * Sends q with no "Expect: 100-continue" round trip and a 60 s limit. Returns 0 and fills r (the
 * caller frees it with itest_resp_free), or -1 on a transport error, which it prints; r is then
 * empty but may still be freed.
 */
int itest_send(const struct itest_req *q, struct itest_resp *r);
/*
 * Sends method path (relative to the base URL) with optional extra header lines (NULL-terminated
 * array, may be NULL) and body (may be NULL). Returns 0 and fills r, or -1 on a transport error.
 */
int itest_request(const char *method, const char *path, const char *const *headers, const char *body,
                  size_t body_len, struct itest_resp *r);
/* Convenience: JSON body with Content-Type: application/json and an optional bearer token. */
int itest_json(const char *method, const char *path, const char *token, const char *json,
               struct itest_resp *r);
/* Frees what r holds and empties it; an emptied or zeroed r may be freed again. */
void itest_resp_free(struct itest_resp *r);
/* The value of header name (case-insensitive) copied into out, or false. */
bool itest_header(const struct itest_resp *r, const char *name, char *out, size_t outlen);
/* A string member of the response's JSON object, or NULL. */
const char *itest_jstr(const struct itest_resp *r, const char *key);
/* Asserts (CUnit) that r has the given status and the JSON error code. */
void itest_assert_error(const struct itest_resp *r, long status, const char *code);
/* Polls GET path until it answers want_status or timeout_ms passes. Returns true when it did. */
bool itest_wait_status(const char *path, long want_status, int timeout_ms);
/*
 * A raw TCP connection to the base URL's port on 127.0.0.1, for requests libcurl will not send
 * (cut short, never read). rcvbuf > 0 sets SO_RCVBUF before connecting. Returns the socket (the
 * caller closes it), or -1.
 */
int itest_connect(int rcvbuf);

/* The value of query parameter name in rel ("...?a=1&b=2#f"), copied into out; false if absent. */
bool itest_query_param(const char *rel, const char *name, char *out, size_t n);
/* The bytes of the file at path (malloc'd: the caller frees them), or NULL when it cannot be read or
 * is empty; *len its size. */
unsigned char *itest_slurp(const char *path, size_t *len);

/* ---- the API: users, projects, media ------------------------------------------------------------ */

/* A fresh address "<tag>-<time>-<pid>-<n>@example.com" into out: no two calls share one. */
void itest_unique_email(char *out, size_t n, const char *tag);
/*
 * Registers a new user (password "Password123") and logs in; the token goes into tok and, when
 * email is not NULL, the address into email. A failure of either step fails the test (fatal).
 */
void itest_login(char *tok, size_t n, char *email, size_t elen, const char *tag);
/* Creates a project of tok's user (description NULL: none). Returns its id, or -1. */
long long itest_new_project(const char *tok, const char *title, const char *description);
/* DELETE /projects/id as tok; asserts 204 when the request went through. */
void itest_delete_project(const char *tok, long long id);
/* DELETE /media/id as tok; asserts 204 when the request went through. */
void itest_delete_media(const char *tok, long long id);

/* ---- JSON and text ------------------------------------------------------------------------------ */

/* Member k of object o (NULL when o is NULL, k is missing or its value is JSON null). Borrowed. */
struct json_object *itest_member(struct json_object *o, const char *k);
/* An integer member, or -1 when it is missing or not an integer. */
long long itest_member_int(struct json_object *o, const char *k);
/* A string member (borrowed from o), or NULL when it is missing or not a string. */
const char *itest_member_str(struct json_object *o, const char *k);
/* True when o has member k and it is JSON null. */
bool itest_member_null(struct json_object *o, const char *k);
/* True when s (NULL: false) matches the POSIX extended regular expression re. */
bool itest_matches(const char *s, const char *re);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)" (UTC); -1 if it is not that. */
time_t itest_parse_rfc3339_utc(const char *s);

/* ---- child processes, time ---------------------------------------------------------------------- */

/*
 * Runs argv (argv[0] looked up in PATH, no shell) with stdin and stderr on /dev/null and its
 * stdout copied into out (NUL-terminated, cut to outlen - 1 bytes; out NULL: thrown away), and
 * waits for it. Returns its exit code, or -1 when it could not run or was killed.
 */
int itest_run_capture(const char *const argv[], char *out, size_t outlen);
/* itest_run_capture with the output thrown away: runs argv quietly and returns its exit code. */
int itest_run(const char *const argv[]);
/* Runs an executable from MEDIAD_TEST_DIR (e.g. "pg-stop") with no shell. Returns its exit code. */
int itest_run_tool(const char *name);
/* Sleeps ms milliseconds. */
void itest_sleep_ms(long ms);
/* Milliseconds on the monotonic clock, for deadlines and durations. */
long long itest_now_ms(void);

/*
 * Entries of folder dir, "." and ".." aside, whose name holds part (NULL: every entry). Returns
 * how many, or -1 when dir cannot be read.
 */
int itest_dir_count(const char *dir, const char *part);

/* ---- FastCGI on the wire (tests that talk to a responder without a web server) ----------------- */

/* Writes one FastCGI record of type for request id 1, no padding. 0, or -1 on a short write. */
int itest_fcgi_put(int fd, unsigned char type, const unsigned char *content, size_t len);
/* Appends a FastCGI name-value pair (both shorter than 128 bytes) at p; returns its length. */
size_t itest_fcgi_pair(unsigned char *p, const char *k, const char *v);

/* ---- /proc -------------------------------------------------------------------------------------- */

/* Reads /proc/<pid>/stat into p. Returns false when the process is gone or its stat unreadable. */
bool itest_proc_read(pid_t pid, struct itest_proc *p);
/*
 * Scans /proc: the pids of the processes match(p, ud) accepts go into out, up to max (the scan
 * stops there). Returns how many, or -1 when /proc cannot be read.
 */
int itest_proc_scan(bool (*match)(const struct itest_proc *p, void *ud), void *ud, pid_t *out, int max);

#endif
