/* log.h: one-line logging to stderr, tagged with the current request id. */
#ifndef MEDIAD_LOG_H
#define MEDIAD_LOG_H

#include <stdbool.h>
#include <stdio.h>

/* Sets the program name printed in every line (e.g. "mediad"). */
void log_init(const char *prog);
/* The program name log_init set ("mediad" before it is called). */
const char *log_program(void);
/* Sets the request id printed in error lines until cleared with NULL. */
void log_set_request_id(const char *rid);
/* One line each, whatever the message holds: every run of control bytes (libpq's newline and tab)
 * becomes one space. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something that works, but not as well as it should (a setting to look at). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Where log lines go: f, or standard error when f is NULL (the default). Returns the stream used
 * until now (NULL for standard error). The access lines stay on standard error.
 */
FILE *log_set_stream(FILE *f);
/*
 * For a run from cron (--once): from now on log lines go to standard output, line buffered (the
 * crontab appends it to a log file), and the first error line is kept (at most LOG_ONCE_ERR_MAX
 * bytes). log_once_end(rc) then prints, when rc is not 0, exactly one line on standard error,
 * which cron mails: "<program>: <the error>", where the error is the first line log_once_fail
 * named as the cause of the failure, else the first error line (a run that fails for want of the
 * database logs the connection's error first), else the exit status when none was logged; and
 * how many more error lines the log holds. A clean run prints nothing there. Returns rc.
 */
#define LOG_ONCE_ERR_MAX 480
void log_once_begin(void);
int log_once_end(int rc);
/* True between log_once_begin and the exit: the program runs once and will not log again later
 * (so no "next report in a minute"). */
bool log_once_active(void);
/* In a --once run, the error line logged last is why the run fails: log_once_end shows it (the
 * first one so named wins). Does nothing otherwise. */
void log_once_fail(void);
/* The access line: time, request id, method, path, status, duration. */
void log_request(const char *rid, const char *method, const char *path, int status, double ms);
/* Formats now (UTC) as RFC 3339 with milliseconds into out (>= 25 bytes). */
void log_time_rfc3339(char *out, unsigned long outlen);

#endif
