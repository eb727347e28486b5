/* log.c: stderr logging. Callers never pass secrets; paths are logged without query strings. */
#include "config.h"

#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "mediad";
static char log_rid[40];
static FILE *log_out; /* NULL: stderr */
/* log_once_begin: the first error line, the last one, the one log_once_fail named (each
 * flattened), and how many there were. */
static bool log_once;
static char log_once_err[LOG_ONCE_ERR_MAX];
static char log_once_last[LOG_ONCE_ERR_MAX];
static char log_once_cause[LOG_ONCE_ERR_MAX];
static unsigned long log_once_errors;

const char *log_program(void)
{
	return log_prog;
}

void log_init(const char *prog)
{
	log_prog = prog;
}

void log_set_request_id(const char *rid)
{
	if (rid == NULL)
		log_rid[0] = '\0';
	else
		snprintf(log_rid, sizeof(log_rid), "%s", rid);
}

void log_time_rfc3339(char *out, unsigned long outlen)
{
	struct timeval tv;
	struct tm tm;
	char tmp[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03ldZ", tmp, (long)(tv.tv_usec / 1000));
}

FILE *log_set_stream(FILE *f)
{
	FILE *was = log_out;

	log_out = f;
	return was;
}

/* Copies msg into out as one line: each run of control bytes (libpq's messages hold a newline and
 * a tab), with the spaces around it, becomes one space; one at either end is dropped. Other spaces
 * stay as they are. Truncates to outlen. */
static void log_flatten(char *out, size_t outlen, const char *msg)
{
	size_t o = 0;
	bool sep = false;

	if (outlen == 0)
		return;
	for (; *msg != '\0' && o + 1 < outlen; msg++) {
		unsigned char c = (unsigned char)*msg;

		if (c < ' ' || c == 0x7f) {
			while (o > 0 && out[o - 1] == ' ')
				o--;
			sep = o > 0;
			continue;
		}
		if (sep && c == ' ')
			continue;
		if (sep && o + 2 < outlen)
			out[o++] = ' ';
		sep = false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

void log_once_begin(void)
{
	/* Before anything is written to stdout: whole lines reach the log file as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_out = stdout;
	log_once = true;
	log_once_err[0] = '\0';
	log_once_last[0] = '\0';
	log_once_cause[0] = '\0';
	log_once_errors = 0;
}

bool log_once_active(void)
{
	return log_once;
}

void log_once_fail(void)
{
	if (log_once && log_once_cause[0] == '\0')
		memcpy(log_once_cause, log_once_last, sizeof(log_once_cause));
}

int log_once_end(int rc)
{
	const char *why = log_once_cause[0] != '\0' ? log_once_cause : log_once_err;

	if (!log_once || rc == 0)
		return rc;
	fflush(stdout);
	if (why[0] == '\0')
		fprintf(stderr, "%s: failed with exit status %d\n", log_prog, rc);
	else if (log_once_errors > 1)
		fprintf(stderr, "%s: %s (and %lu more error line(s) in the log)\n", log_prog, why,
		        log_once_errors - 1);
	else
		fprintf(stderr, "%s: %s\n", log_prog, why);
	return rc;
}

static __attribute__((format(printf, 2, 0))) void log_line(const char *level, const char *fmt, va_list ap)
{
	char ts[40];
	char raw[1024], msg[1024];

	log_time_rfc3339(ts, sizeof(ts));
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_flatten(msg, sizeof(msg), raw);
	if (log_once && strcmp(level, "error") == 0) {
		log_flatten(log_once_last, sizeof(log_once_last), msg);
		if (log_once_errors++ == 0)
			memcpy(log_once_err, log_once_last, sizeof(log_once_err));
	}
	/* One fprintf per line: lines from a pool of processes sharing stderr stay whole. */
	fprintf(log_out != NULL ? log_out : stderr, "%s %s[%ld] %s%s%s %s\n", ts, log_prog, (long)getpid(),
	        level, log_rid[0] ? " rid=" : "", log_rid, msg);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("error", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

/* Copies s into out with control bytes, spaces and quotes replaced, so a client cannot forge a
 * log line or split one. Truncates to the size of out. */
static void log_sanitize(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x21 || c == 0x7f || c == '"') ? '?' : (char)c;
	}
	out[i] = '\0';
}

void log_request(const char *rid, const char *method, const char *path, int status, double ms)
{
	char ts[40], m[16], p[512];

	log_time_rfc3339(ts, sizeof(ts));
	log_sanitize(m, sizeof(m), method);
	log_sanitize(p, sizeof(p), path);
	fprintf(stderr, "%s %s[%ld] access rid=%s %s %s %d %.3fms\n", ts, log_prog, (long)getpid(), rid, m, p,
	        status, ms);
}
