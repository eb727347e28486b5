/* probe.h: decides what an uploaded file is (image, video, audio or other) by running ffprobe. */
#ifndef MEDIAD_PROBE_H
#define MEDIAD_PROBE_H

#include <stddef.h>
#include <stdint.h>

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
/* Longest timeout accepted by probe_file, in seconds. */
#define PROBE_TIMEOUT_MAX 3600

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
	int width;                               /* first real video stream; -1 when none */
	int height;
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
 * Runs ffprobe_path (searched in PATH when it has no '/') on the regular file at path,
 * relative paths resolved against the current directory, and classifies its output as
 * probe_classify does. The input is passed as "file:<absolute path>" with only the file
 * protocol allowed, so no name is taken for an option, another protocol or, with '%' in it
 * ("-pattern_type none" is then added), for an image2 sequence of other files. The child gets stdin from /dev/null, no other descriptor of ours, its
 * own process group, default signal dispositions and an empty signal mask. Its stdout is
 * read up to PROBE_STDOUT_MAX and the tail of its stderr kept for the message, both until
 * timeout_s seconds (1..PROBE_TIMEOUT_MAX) have passed; then the group is killed with
 * SIGKILL. The child is always reaped and every descriptor opened here is closed on every
 * path, so a long-running process can call this forever. Not async-signal-safe; safe to call
 * from several threads.
 *
 * Returns 0 with out filled (kind may be PROBE_OTHER, see probe_classify), -1 when the file is
 * the cause (ffprobe rejected it, crashed on it, timed out on it or printed too much), or -2 when
 * the server is (ffprobe could not be set up or started, or its output or status was lost); both
 * with out reset and a short reason in why ("ffprobe could not read the file: Invalid data found when
 * processing input", "ffprobe timed out after 30 s"). why never holds a file system path.
 */
int probe_file(const char *ffprobe_path, const char *path, int timeout_s, struct probe_result *out, char *why,
               size_t whylen) __attribute__((warn_unused_result));

/* The kind as a lowercase word ("image", "video", "audio", "other"), for logs and JSON. */
const char *probe_kind_name(enum probe_kind kind);

#endif
