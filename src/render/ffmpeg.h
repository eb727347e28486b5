/* ffmpeg.h: one ffmpeg child: spawned with an argv array, its -progress and stderr read by poll. */
#ifndef MEDIAD_FFMPEG_H
#define MEDIAD_FFMPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/child.h"
#include "render/progress.h"

#define FFRUN_ERR_MAX 4096 /* the tail of stderr kept for the failure reason */
#define FFRUN_REASON_MAX 500

/*
 * One ffmpeg run on the child runner. pid, out_fd, err_fd, status, err and err_len mirror ch
 * after every ffrun_* call; read them, and drive the run through ffrun_* only. ffrun_start
 * hands ch a pointer to prog: the struct must not move while the run is open.
 */
struct ffrun {
	pid_t pid;  /* -1 once reaped */
	int out_fd; /* -progress pipe:1; -1 at EOF */
	int err_fd; /* stderr; -1 at EOF */
	struct progress prog;
	char err[FFRUN_ERR_MAX];
	size_t err_len;
	int status; /* waitpid status, valid once pid == -1 */
	struct child ch;
};

/*
 * Starts argv[0] through child_start (see child.h: searched in CHILD_PATH when it has no slash,
 * stdin from /dev/null, its own process group, a minimal environment with no secrets of ours,
 * SIGKILL when we die), its stdout fed to the progress parser. total_us is the expected output
 * length for progress (0: unknown). No deadline: the caller stops it with ffrun_signal.
 * Returns 0, or an errno value: ENOENT or EACCES when the program is missing or not
 * executable (the configuration's fault, not the input's); r is then closed.
 */
int ffrun_start(struct ffrun *r, const char *const *argv, int64_t total_us)
        __attribute__((warn_unused_result));
/*
 * ffrun_start with a deadline: timeout_ms (> 0) after the start the group gets SIGTERM, then
 * SIGKILL CHILD_KILL_GRACE_MS later, both done by ffrun_tick; r->ch.timed_out tells.
 */
int ffrun_start_timed(struct ffrun *r, const char *const *argv, int64_t total_us, int64_t timeout_ms)
        __attribute__((warn_unused_result));
/* Reads what is ready on fd (r->out_fd or r->err_fd); closes it at EOF. */
void ffrun_read(struct ffrun *r, int fd);
/* Percent done 0-100 (100 only after "progress=end"). */
int ffrun_percent(const struct ffrun *r);
/* Sends sig to ffmpeg's process group. */
void ffrun_signal(struct ffrun *r, int sig);
/*
 * Reaps the child if it has exited (or waits when block). Returns true once reaped; the pipes
 * are then read to their end and closed.
 */
bool ffrun_reap(struct ffrun *r, bool block);
/* child_tick for the run: the deadline's signals and a reap without waiting. True once reaped. */
bool ffrun_tick(struct ffrun *r);
/* Closes the pipes; kills and reaps a child still running. status and err stay readable. */
void ffrun_close(struct ffrun *r);

/*
 * Turns ffmpeg's stderr into a short sentence for failedReason: the last non-empty line, with the
 * media root removed from paths (uploads/x.png stays readable), any other absolute path replaced
 * by "<path>", control bytes dropped, at most outlen-1 (<= FFRUN_REASON_MAX) bytes, valid UTF-8.
 * Returns the length; "" when stderr said nothing useful.
 */
size_t ffmpeg_reason(const char *err, size_t len, const char *media_root, char *out, size_t outlen);

#endif
