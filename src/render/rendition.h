/* rendition.h: the rendition presets (hls, poster, storyboard): what ffmpeg is asked to make of a
 * media, and what the spawner records of the folder it made. */
#ifndef MEDIAD_RENDITION_H
#define MEDIAD_RENDITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rend_kind { REND_NONE = 0, REND_HLS, REND_POSTER, REND_STORYBOARD };

#define REND_RUNGS_MAX 5          /* 240p to 1080p */
#define REND_ROWS_MAX 6           /* rows one job records */
#define REND_MAX_ARGS 128         /* ffmpeg argv, its NULL included */
#define REND_POOL 8192            /* string storage of one argv */
#define REND_PLAYLIST_MAX 1048576 /* largest variant playlist read back (about 20,000 segments) */
#define REND_HLS_SEGMENT_S 4      /* target segment length; keyframes every REND_HLS_GOP_S */
#define REND_HLS_GOP_S 2
#define REND_POSTER_AT 10        /* percent into the video */
#define REND_POSTER_MAX 1280     /* longest side of the poster */
#define REND_STORY_MAX_TILES 100 /* thumbnails in one storyboard sprite */
#define REND_STORY_COLS 10
#define REND_STORY_WIDTH 160 /* thumbnail width */

/* What the spawner knows of the input: from the job's media row. */
struct rend_input {
	const char *path;    /* absolute */
	const char *kind;    /* "video", "audio", "image" */
	int64_t duration_ms; /* -1: unknown */
	int width, height;   /* as shown; -1: unknown */
	bool has_audio;
	int64_t frame_rate_milli; /* -1: unknown */
};

struct rend_rung {
	char name[16];    /* "720p", "a128k" */
	int box_w, box_h; /* the video fits in this box, aspect kept (0: audio only) */
	int video_kbps, maxrate_kbps, bufsize_kbps;
	int audio_kbps; /* 0: no audio */
};

struct rend_plan {
	enum rend_kind kind;
	int nrungs; /* hls */
	struct rend_rung rungs[REND_RUNGS_MAX];
	bool audio_only;
	bool poster_plain; /* poster: the second try, without the black-frame filter */
	int story_step_s, story_count, story_cols, story_rows; /* storyboard */
};

/* The rendition kind a preset name makes, or REND_NONE. */
enum rend_kind rend_kind_of(const char *preset);
/* The name media_renditions.kind uses. */
const char *rend_kind_name(enum rend_kind k);

/*
 * Decides what to make of in: the ladder for hls (rungs from 240p to 1080p, by the short side,
 * none above the source; portrait sources get portrait boxes; a source smaller than 240p gets
 * one rung at its own size; audio only gets two AAC renditions), the grid for a storyboard.
 * Returns 0, or -1 with why set when the input cannot have this rendition.
 */
int rend_plan(enum rend_kind kind, const struct rend_input *in, struct rend_plan *plan, char *why,
              size_t whylen) __attribute__((warn_unused_result));

struct rend_argv {
	const char *argv[REND_MAX_ARGS];
	char pool[REND_POOL];
	size_t used;
	int n;
	bool overflow;
};

/*
 * Builds ffmpeg's argv for plan into a, writing into the folder dir (absolute, existing). The
 * input is named "file:<path>", so no name is ever read as another protocol. *total_us is the
 * output length for progress (0: unknown). Returns 0, or -1 when the argv does not fit.
 */
int rend_argv(const struct rend_plan *plan, const struct rend_input *in, const char *ffmpeg, const char *dir,
              struct rend_argv *a, int64_t *total_us) __attribute__((warn_unused_result));

/* One media_renditions row (schema/007_renditions.sql); -1 or "" where the column is NULL. */
struct rend_row {
	char name[17];
	char path[64];
	int width, height;
	int64_t bandwidth, average_bandwidth;
	char codecs[65];
	int64_t frame_rate_milli;
	int64_t size_bytes;
};

struct rend_result {
	int n;
	struct rend_row rows[REND_ROWS_MAX];
};

/*
 * After ffmpeg exited 0: checks the folder dir against plan and fills out. hls: each variant's
 * playlist is read back (REND_PLAYLIST_MAX), its segments measured (AVERAGE-BANDWIDTH is bytes
 * over time; BANDWIDTH the busiest segment of 1 s or more), CODECS and RESOLUTION taken from
 * ffmpeg's master playlist. storyboard: the WebVTT file is written, cue k mapping to tile k of the
 * sprite. poster: the JPEG is measured. Everything is then fsynced.
 * Returns 0; 1 for a poster that ffmpeg left unwritten (every frame it looked at was black: try
 * again with poster_plain); -1 with why set when the output is not what was asked for; -2 with
 * why set when the disk failed (the machine's fault, not the job's).
 */
int rend_finish(const struct rend_plan *plan, const struct rend_input *in, const char *dir,
                struct rend_result *out, char *why, size_t whylen) __attribute__((warn_unused_result));

/* Parses the size of a baseline or progressive JPEG from its first bytes p[0..n). 0 or -1. */
int rend_jpeg_size(const unsigned char *p, size_t n, int *w, int *h) __attribute__((warn_unused_result));

/* Writes the storyboard's WebVTT for plan (step, count, cols) and tiles of tw x th into out.
 * Returns the length, or 0 when it does not fit. */
size_t rend_story_vtt(const struct rend_plan *plan, int64_t duration_ms, int tw, int th, char *out,
                      size_t outlen);

#endif
