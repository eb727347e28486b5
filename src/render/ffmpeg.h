/* ffmpeg.h: one ffmpeg child: spawned with an argv array, its -progress and stderr read by poll. */
#ifndef MEDIAD_FFMPEG_H
#define MEDIAD_FFMPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "render/progress.h"

#define FFRUN_ERR_MAX 4096 /* the tail of stderr kept for the failure reason */
#define FFRUN_REASON_MAX 500

struct ffrun {
	pid_t pid;  /* -1 once reaped */
	int out_fd; /* -progress pipe:1; -1 at EOF */
	int err_fd; /* stderr; -1 at EOF */
	struct progress prog;
	char err[FFRUN_ERR_MAX];
	size_t err_len;
	int status; /* waitpid status, valid once pid == -1 */
};

/*
 * Starts argv[0] (searched in PATH when it has no slash) with stdin from /dev/null, in its own
 * process group, with a minimal environment (no secrets of ours). total_us is the expected output
 * length for progress (0: unknown). Returns 0, or an errno value.
 */
int ffrun_start(struct ffrun *r, const char *const *argv, int64_t total_us)
        __attribute__((warn_unused_result));
/* Reads what is ready on fd (r->out_fd or r->err_fd); closes it at EOF. */
void ffrun_read(struct ffrun *r, int fd);
/* Percent done 0-100 (100 only after "progress=end"). */
int ffrun_percent(const struct ffrun *r);
/* Sends sig to ffmpeg's process group. */
void ffrun_signal(struct ffrun *r, int sig);
/* Reaps the child if it has exited (or waits when block). Returns true once reaped. */
bool ffrun_reap(struct ffrun *r, bool block);
/* Closes the pipes; kills and reaps a child still running. */
void ffrun_close(struct ffrun *r);

/*
 * Turns ffmpeg's stderr into a short sentence for failedReason: the last non-empty line, with the
 * media root removed from paths (uploads/x.png stays readable), any other absolute path replaced
 * by "<path>", control bytes dropped, at most outlen-1 (<= FFRUN_REASON_MAX) bytes, valid UTF-8.
 * Returns the length; "" when stderr said nothing useful.
 */
size_t ffmpeg_reason(const char *err, size_t len, const char *media_root, char *out, size_t outlen);

#endif
