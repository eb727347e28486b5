/* probe.h: decides what an uploaded file is (image, video, audio or other) by running ffprobe. */
#ifndef MEDIAD_PROBE_H
#define MEDIAD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/child.h"
#include "util/buf.h"

/* Caps on what is kept from ffprobe; longer names are cut (they are only shown, never matched). */
#define PROBE_FORMAT_NAME_MAX 64
#define PROBE_CODEC_MAX 32
#define PROBE_MIME_MAX 32
#define PROBE_EXT_MAX 8
#define PROBE_FOUND_MAX 160
/* Most of ffprobe's JSON read; a larger document fails (a file with thousands of streams). */
#define PROBE_STDOUT_MAX (1024 * 1024)
/* Tail of ffprobe's stderr kept for the error message. */
#define PROBE_STDERR_KEEP 8192
/* The demuxers ffprobe may use (-format_whitelist): those of the images and containers the
 * classifier accepts. Anything else (hls, concat, tty...) is refused by ffprobe itself. */
#define PROBE_FORMAT_WHITELIST                                                                        \
	"png_pipe,jpeg_pipe,gif,webp_pipe,bmp_pipe,tiff_pipe,image2,mov,matroska,avi,mpegts,ogg,wav," \
	"mp3,flac,aac"
/* Longest timeout accepted by probe_file, in seconds. */
#define PROBE_TIMEOUT_MAX 3600
/* Room for ffprobe's argv, its NULL included. */
#define PROBE_ARGV_MAX 20

enum probe_kind { PROBE_OTHER = 0, PROBE_IMAGE, PROBE_VIDEO, PROBE_AUDIO };

/*
 * What ffprobe found. Every string is NUL-terminated and printable ASCII; mime and ext are
 * empty unless kind is IMAGE, VIDEO or AUDIO. found always says what the file is in words
 * ("an image (png)", "a tty file with no audio or video stream"), for a 415 message.
 * It never holds a file system path.
 */
struct probe_result {
	enum probe_kind kind;
	char format_name[PROBE_FORMAT_NAME_MAX]; /* ffprobe's demuxer list, e.g. "matroska,webm" */
	char mime[PROBE_MIME_MAX];               /* e.g. "video/mp4" */
	char ext[PROBE_EXT_MAX];                 /* e.g. "mp4", without the dot */
	int64_t duration_ms;                     /* -1 when unknown, for still images and OTHER */
	int width; /* first real video stream, as shown (rotation applied); -1 when none */
	int height;
	int64_t frame_rate_milli;          /* its avg_frame_rate x 1000; -1 when unknown or none */
	char video_codec[PROBE_CODEC_MAX]; /* "" when no real video stream */
	char audio_codec[PROBE_CODEC_MAX]; /* "" when no audio stream */
	char found[PROBE_FOUND_MAX];
};

/*
 * Classifies ffprobe's "-print_format json -show_format -show_streams" output, json[0..len)
 * (need not be NUL-terminated). Pure: no I/O, no globals.
 *
 * Rules, first match wins:
 * - a video stream with disposition.attached_pic=1 (cover art) or a text-art codec (ansi and
 *   friends, which the tty demuxer makes of any text file) is not a real video stream;
 * - a still-image codec in its image demuxer (png in png_pipe or image2, mjpeg in jpeg_pipe or
 *   image2, gif in gif, webp in webp_pipe, bmp in bmp_pipe, tiff in tiff_pipe) with non-zero
 *   dimensions is an IMAGE; with zero dimensions ffprobe could not decode it: OTHER.
 *   An animated GIF is an IMAGE too (it is served as image/gif, which browsers animate); it is
 *   the one image with a duration_ms;
 * - any other real video stream is a VIDEO, any audio stream (with no real video) an AUDIO;
 * - the container must then be one the table maps for that kind, or it is OTHER with why
 *   "unsupported container <name>";
 * - nothing of the above: OTHER, "a <format> file with no audio or video stream".
 *
 * Returns 0 with out filled: when out->kind is PROBE_OTHER, why says why in a few words and
 * out->found what the file is; otherwise why is "". Returns -1 when json is not an ffprobe
 * document (malformed, no format section): why says so and out is reset (kind PROBE_OTHER).
 * why may be NULL when whylen is 0.
 */
int probe_classify(const char *json, size_t len, struct probe_result *out, char *why, size_t whylen)
        __attribute__((warn_unused_result));

/*
 * Runs ffprobe_path (searched in CHILD_PATH when it has no '/') on the regular file at path,
 * relative paths resolved against the current directory, and classifies its output as
 * probe_classify does. The input is passed as "file:<absolute path>" with only the file
 * protocol allowed, so no name is taken for an option, another protocol or, with '%' in it
 * ("-pattern_type none" is then added), for an image2 sequence of other files. ffprobe runs
 * through child_run (see child.h): stdin from /dev/null, no other descriptor of ours, no
 * environment of ours, its own process group, default signal dispositions and an empty signal
 * mask, SIGKILL should we die. Its stdout is read up to PROBE_STDOUT_MAX and the tail of its
 * stderr kept for the message, both until timeout_s seconds (1..PROBE_TIMEOUT_MAX) have
 * passed; then the group gets SIGTERM, and SIGKILL CHILD_KILL_GRACE_MS later. The child is
 * always reaped and every descriptor opened here is closed on every path, so a long-running
 * process can call this forever. Not async-signal-safe; safe to call from several threads.
 *
 * Returns 0 with out filled (kind may be PROBE_OTHER, see probe_classify), -1 when the file is
 * the cause (ffprobe rejected it, crashed on it, timed out on it or printed too much), or -2 when
 * the server is (ffprobe could not be set up or started, or its output or status was lost); both
 * with out reset and a short reason in why ("ffprobe could not read the file: Invalid data found when
 * processing input", "ffprobe timed out after 30 s"). why never holds a file system path.
 * It is probe_cmd_build, child_run with cmd.argv and cmd.opts, then probe_verdict.
 */
int probe_file(const char *ffprobe_path, const char *path, int timeout_s, struct probe_result *out, char *why,
               size_t whylen) __attribute__((warn_unused_result));

/*
 * The pieces of probe_file, for a caller with its own poll loop: probe_cmd_build, child_start
 * (cmd.argv, &cmd.opts), child_pollfds/child_read/child_tick until done, probe_outcome_of,
 * probe_verdict, child_close, probe_cmd_free.
 */
struct probe_cmd {
	const char *argv[PROBE_ARGV_MAX]; /* NULL-terminated; into ffprobe_path (borrowed) and input */
	struct child_opts opts;           /* deadline timeout_s, PROBE_STDOUT_MAX, PROBE_STDERR_KEEP */
	int timeout_s;
	struct buf input;   /* "file:" + abspath, ffprobe's input argument */
	struct buf abspath; /* path made absolute; only ever scrubbed out of messages */
};

/*
 * Checks the arguments and the file as probe_file does (a regular file, timeout_s in
 * 1..PROBE_TIMEOUT_MAX) and builds ffprobe's argv for it into cmd. ffprobe_path is borrowed:
 * it must outlive cmd. Returns 0, -1 (the file's fault or bad arguments) or -2 (out of memory,
 * no current directory) with why set as probe_file sets it. cmd always needs probe_cmd_free.
 */
int probe_cmd_build(struct probe_cmd *cmd, const char *ffprobe_path, const char *path, int timeout_s,
                    char *why, size_t whylen) __attribute__((warn_unused_result));
/*
 * probe_cmd_build for a file that does not exist yet: ffprobe reads it from its stdin ("pipe:0",
 * only the pipe protocol allowed, the same -format_whitelist), so it can be started early, do its
 * slow start-up (a few hundred shared libraries) and wait there. Run it with cmd.opts, which has
 * in_feed set and no deadline: the caller arms timeout_s (child_arm) when it hands the file over
 * with child_feed. What differs from ffprobe on the path: no "size" or "bit_rate" in the format
 * (probe_classify reads neither), a JPEG is read by jpeg_pipe rather than image2, decoders run
 * without threads ("-threads 1": the frame or two it decodes come sooner than the threads), and
 * a duration only the file's size gives (a WAV's, for one) is unknown: duration_ms -1. An MP4 with
 * its index at the end is read whole before the answer. Meant for the render outputs (MP4 with
 * +faststart, JPEG); for anything else, ask the path when the duration is missing.
 * Returns 0, -1 (bad arguments) or -2 (out of memory) with why set; cmd always needs probe_cmd_free.
 */
int probe_cmd_build_stdin(struct probe_cmd *cmd, const char *ffprobe_path, int timeout_s, char *why,
                          size_t whylen) __attribute__((warn_unused_result));
/* Frees what probe_cmd_build allocated; cmd is left empty. */
void probe_cmd_free(struct probe_cmd *cmd);

/* How one ffprobe run ended, as probe_verdict needs it; the pointers are borrowed. */
struct probe_outcome {
	int status;        /* waitpid status */
	bool timed_out;    /* the deadline passed while it ran */
	bool out_over_cap; /* it printed more than PROBE_STDOUT_MAX */
	int read_errno;    /* reading its output failed (ENOMEM: out of memory); 0 if not */
	int wait_errno;    /* its exit status was lost; 0 if not */
	const char *out;   /* its stdout */
	size_t out_len;
	const char *err; /* the tail of its stderr */
	size_t err_len;
};

/* Fills o from a child reaped after child_start with cmd's argv and opts; o borrows c's bytes. */
void probe_outcome_of(struct probe_outcome *o, const struct child *c);

/*
 * Turns a finished run into probe_file's answer: the same return value, out and why (only
 * "could not start ffprobe" is the caller's, when child_start failed). Pure: no I/O.
 */
int probe_verdict(const struct probe_cmd *cmd, const struct probe_outcome *o, struct probe_result *out,
                  char *why, size_t whylen) __attribute__((warn_unused_result));

/* Writes a formatted message into why[0..whylen), cut to fit; nothing when why is NULL or whylen 0.
 * Shared by the classifier and the runner of ffprobe. */
void probe_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets out to "nothing known": kind OTHER, no streams, unknown duration and size. */
void probe_result_reset(struct probe_result *out);

/* The kind as a lowercase word ("image", "video", "audio", "other"), for logs and JSON. */
const char *probe_kind_name(enum probe_kind kind);

#endif
