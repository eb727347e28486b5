/* log.h: one-line logging to stderr, tagged with the current request id. */
#ifndef MEDIAD_LOG_H
#define MEDIAD_LOG_H

/* Sets the program name printed in every line (e.g. "mediad"). */
void log_init(const char *prog);
/* The program name log_init set ("mediad" before it is called). */
const char *log_program(void);
/* Sets the request id printed in error lines until cleared with NULL. */
void log_set_request_id(const char *rid);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The access line: time, request id, method, path, status, duration. */
void log_request(const char *rid, const char *method, const char *path, int status, double ms);
/* Formats now (UTC) as RFC 3339 with milliseconds into out (>= 25 bytes). */
void log_time_rfc3339(char *out, unsigned long outlen);

#endif
