/* child.h: the one runner of child processes (ffprobe, ffmpeg): argv, no shell, no secrets, bounded. */
#ifndef MEDIAD_CHILD_H
#define MEDIAD_CHILD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"

/* The child's whole PATH, and where argv[0] is looked for when it has no '/'. */
#define CHILD_PATH "/usr/local/bin:/usr/bin:/bin"
/* The most stderr a child keeps (its tail); child_opts.err_keep picks up to this. */
#define CHILD_ERR_MAX 8192
/* SIGTERM at the deadline, then SIGKILL this much later (child_opts.grace_ms overrides). */
#define CHILD_KILL_GRACE_MS 2000
/* Most bytes read from one pipe per child_read, so one chatty child cannot starve a poll loop;
 * also the most still read from each pipe once the child is reaped (a grandchild may hold it). */
#define CHILD_READ_BUDGET (256 * 1024)
/* Longest poll child_next_ms asks for when there is no pidfd to say the child has exited. */
#define CHILD_POLL_MS 100
/* Entries child_pollfds may fill: stdout, stderr, the pidfd and, while child_feed runs, stdin. */
#define CHILD_POLLFDS 4

/* Chunk mode: each piece of stdout as it arrives; data is only valid during the call. */
typedef void (*child_out_fn)(void *arg, const char *data, size_t len);

struct child_opts {
	int64_t timeout_ms;  /* > 0: deadline after the start; 0: none (the caller bounds the run) */
	int64_t grace_ms;    /* from the deadline's SIGTERM to SIGKILL; 0: CHILD_KILL_GRACE_MS */
	child_out_fn on_out; /* set: chunk mode, stdout goes here and nothing is kept */
	void *on_out_arg;
	size_t out_max;  /* buffer mode: most stdout kept in out; past it the child is killed */
	size_t err_keep; /* stderr tail kept, at most CHILD_ERR_MAX; 0: CHILD_ERR_MAX */
	bool in_feed;    /* stdin is a socket that child_feed fills later; false: /dev/null */
};

/*
 * One child. Read the public fields; the rest is private. The child runs in its own process
 * group (pid is also the group's id), so signals reach whatever it starts too.
 */
struct child {
	pid_t pid;         /* -1 before the start and once reaped */
	int out_fd;        /* our end of its stdout (non-blocking, CLOEXEC); -1 at EOF or closed */
	int err_fd;        /* our end of its stderr; likewise */
	int pid_fd;        /* readable once it has exited; -1 when reaped or the kernel has none */
	int in_fd;         /* in_feed: our end of its stdin (non-blocking); -1 after the feed, or none */
	int status;        /* waitpid status; valid once child_done */
	bool timed_out;    /* the deadline passed while it ran: SIGTERM, SIGKILL after the grace */
	bool out_over_cap; /* stdout passed out_max: SIGKILL; out holds the first out_max bytes */
	int read_errno;    /* a pipe could not be read (ENOMEM: no memory for out): SIGKILL */
	int wait_errno;    /* waitpid failed (ECHILD: SIGCHLD ignored): status unknown, left 0 */
	struct buf out;    /* buffer mode: stdout so far */
	size_t err_len;
	char err[CHILD_ERR_MAX]; /* the last err_len bytes of stderr (not NUL-terminated) */
	/* private */
	struct child_opts opts;
	int64_t deadline_ms; /* monotonic; 0: none */
	int64_t kill_at_ms;  /* monotonic; 0: no SIGKILL pending */
	int feed_fd;         /* child_feed's source; -1: not feeding */
	int64_t fed;         /* bytes of it written to in_fd so far */
};

/* Makes c an idle child that child_close and child_done accept; child_start does it too. */
void child_init(struct child *c);

/*
 * Starts argv[0] (looked for in CHILD_PATH when it has no '/'; never through a shell) with
 * argv, the environment "PATH=" CHILD_PATH and "LC_ALL=C" only, stdin from /dev/null, stdout
 * and stderr to pipes and no other descriptor of ours, in its own process group, with default
 * signal dispositions and an empty signal mask. It gets SIGKILL when the thread that started it
 * dies (PR_SET_PDEATHSIG: start children from a thread that lives as long as they do). opts may
 * be NULL (no deadline, stdout dropped). argv and opts are not kept; opts->on_out_arg is.
 * With opts->in_feed its stdin is one end of a socket pair instead: the child may start and wait
 * there for input that child_feed sends later (a socket, not a pipe: a write after the child has
 * gone fails with EPIPE and never raises SIGPIPE in the caller).
 *
 * Returns 0 once the program is running, or an errno value: ENOENT or EACCES (and the like)
 * when it could not be executed, reported by the child before it returns, EINVAL for an empty
 * argv, or why the pipes or the fork failed. On failure nothing is left behind: no descriptor,
 * no zombie, c idle. Not async-signal-safe.
 */
int child_start(struct child *c, const char *const *argv, const struct child_opts *opts)
        __attribute__((warn_unused_result));

/* Fills pfd[0..CHILD_POLLFDS) with the descriptors to poll (POLLIN; POLLOUT for the stdin that
 * child_feed fills); returns how many. */
size_t child_pollfds(const struct child *c, struct pollfd *pfd);

/*
 * Handles fd (one child_pollfds gave) being ready: reads what is there, at most
 * CHILD_READ_BUDGET, into out, on_out or the stderr tail, closing it at EOF; for the pidfd,
 * reaps; for stdin, feeds it on (child_feed). Never blocks. Other descriptors are ignored.
 */
void child_read(struct child *c, int fd);

/*
 * Sends the whole of src, a regular file read from offset 0, to the stdin of a child started
 * with in_feed, then closes that stdin (EOF). Takes ownership of src (closed on every path).
 * What fits is written now; the rest as child_pollfds/child_read find stdin writable, at most
 * CHILD_READ_BUDGET a turn. A child that stops reading (exits, closes its stdin) just ends the
 * feed; a read error of src ends it too, so the child sees a short input. Returns 0, or EINVAL
 * when c has no stdin to feed (not in_feed, already fed, or reaped).
 */
int child_feed(struct child *c, int src) __attribute__((warn_unused_result));

/*
 * Sets the deadline to timeout_ms (> 0) from now, as child_opts.timeout_ms does from the start;
 * 0 removes it. For a child started early that should be bounded from when its work begins.
 */
void child_arm(struct child *c, int64_t timeout_ms);

/*
 * Non-blocking upkeep, to call after every poll: at the deadline SIGTERM to the group, SIGKILL
 * after the grace, and a reap without waiting. Returns child_done(c, NULL).
 */
bool child_tick(struct child *c);

/*
 * How long the caller's poll may sleep before child_tick has work, in ms; -1: until one of
 * child_pollfds' descriptors is ready (or for ever, once the child is reaped).
 */
int child_next_ms(const struct child *c);

/*
 * Reaps the child if it has exited, or waits for it when block (EINTR-safe; unbounded, so only
 * after SIGKILL). Once reaped the pipes are read to their end (at most CHILD_READ_BUDGET each,
 * without blocking) and closed. Returns true once reaped.
 */
bool child_reap(struct child *c, bool block);

/* Whether the child has been reaped (or never ran); *status (may be NULL) gets its wait status. */
bool child_done(const struct child *c, int *status);

/* Sends sig to the child's process group while the child is not reaped. */
void child_signal(struct child *c, int sig);

/*
 * child_start, then polls until the child is reaped. opts->timeout_ms must be > 0: the run is
 * bounded by the deadline plus the grace. Returns 0 with the outcome in c's public fields
 * (call child_close after reading them), or child_start's errno value (EINVAL without a
 * deadline).
 */
int child_run(struct child *c, const char *const *argv, const struct child_opts *opts)
        __attribute__((warn_unused_result));

/*
 * Closes the pipes (and a feed under way), SIGKILLs and reaps a child still running and frees out.
 * status and the stderr tail stay readable. Idempotent; c is idle afterwards.
 */
void child_close(struct child *c);

#endif
