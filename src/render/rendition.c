/* rendition.c: ladders, ffmpeg argv and the read-back of what ffmpeg wrote, for the rendition
 * presets. Pure but for rend_finish, which reads and writes only below the folder it is given. */
#include "config.h"

#include "render/rendition.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/files.h"

/*
 * The ladder: Apple's HLS authoring figures rounded to the usual 16:9 boxes, H.264 High at
 * "veryfast" (the spawner's machines are small). maxrate is 1.1 x the target and bufsize 2 x: a
 * capped VBR that players can trust. Audio: AAC stereo at 48 kHz.
 */
static const struct {
	const char *name;
	int w, h, video_kbps, maxrate_kbps, bufsize_kbps, audio_kbps;
} ladder[REND_RUNGS_MAX] = {
	{ "240p", 426, 240, 400, 440, 800, 64 },         { "360p", 640, 360, 800, 880, 1600, 96 },
	{ "480p", 854, 480, 1400, 1540, 2800, 128 },     { "720p", 1280, 720, 2800, 3080, 5600, 128 },
	{ "1080p", 1920, 1080, 5000, 5500, 10000, 128 },
};

enum rend_kind rend_kind_of(const char *preset)
{
	if (strcmp(preset, "hls") == 0)
		return REND_HLS;
	if (strcmp(preset, "poster") == 0)
		return REND_POSTER;
	if (strcmp(preset, "storyboard") == 0)
		return REND_STORYBOARD;
	return REND_NONE;
}

const char *rend_kind_name(enum rend_kind k)
{
	return k == REND_HLS ? "hls" : k == REND_POSTER ? "poster" : k == REND_STORYBOARD ? "storyboard" : "";
}

static void why_set(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static void plan_hls(const struct rend_input *in, struct rend_plan *plan)
{
	bool portrait = in->height > in->width;
	int i;

	plan->nrungs = 0;
	for (i = 0; i < REND_RUNGS_MAX; i++) {
		int bw = portrait ? ladder[i].h : ladder[i].w, bh = portrait ? ladder[i].w : ladder[i].h;
		struct rend_rung *r = &plan->rungs[plan->nrungs];

		/* Fitting the source into the box never enlarges it when it reaches the box on
		 * either side: that is the rule for "never above the source". */
		if (in->width < bw && in->height < bh)
			continue;
		snprintf(r->name, sizeof(r->name), "%s", ladder[i].name);
		r->box_w = bw;
		r->box_h = bh;
		r->video_kbps = ladder[i].video_kbps;
		r->maxrate_kbps = ladder[i].maxrate_kbps;
		r->bufsize_kbps = ladder[i].bufsize_kbps;
		r->audio_kbps = in->has_audio ? ladder[i].audio_kbps : 0;
		plan->nrungs++;
	}
	if (plan->nrungs == 0) {
		/* Smaller than 240p: one rung at the source's own (even) size. */
		struct rend_rung *r = &plan->rungs[0];
		int shortside = portrait ? in->width : in->height;

		snprintf(r->name, sizeof(r->name), "%dp", shortside & ~1);
		r->box_w = in->width & ~1;
		r->box_h = in->height & ~1;
		r->video_kbps = ladder[0].video_kbps;
		r->maxrate_kbps = ladder[0].maxrate_kbps;
		r->bufsize_kbps = ladder[0].bufsize_kbps;
		r->audio_kbps = in->has_audio ? ladder[0].audio_kbps : 0;
		plan->nrungs = 1;
	}
}

int rend_plan(enum rend_kind kind, const struct rend_input *in, struct rend_plan *plan, char *why,
              size_t whylen)
{
	bool video = strcmp(in->kind, "video") == 0, audio = strcmp(in->kind, "audio") == 0;
	int64_t step_ms;

	memset(plan, 0, sizeof(*plan));
	plan->kind = kind;
	switch (kind) {
	case REND_HLS:
		if (audio) {
			plan->audio_only = true;
			plan->nrungs = 2;
			snprintf(plan->rungs[0].name, sizeof(plan->rungs[0].name), "a64k");
			plan->rungs[0].audio_kbps = 64;
			snprintf(plan->rungs[1].name, sizeof(plan->rungs[1].name), "a128k");
			plan->rungs[1].audio_kbps = 128;
			return 0;
		}
		if (!video) {
			why_set(why, whylen, "hls needs a video or audio input");
			return -1;
		}
		if (in->width < 2 || in->height < 2) {
			why_set(why, whylen, "the video's size is unknown");
			return -1;
		}
		plan_hls(in, plan);
		return 0;
	case REND_POSTER:
		if (!video) {
			why_set(why, whylen, "a poster needs a video input");
			return -1;
		}
		return 0;
	case REND_STORYBOARD:
		if (!video) {
			why_set(why, whylen, "a storyboard needs a video input");
			return -1;
		}
		if (in->duration_ms <= 0) {
			why_set(why, whylen, "the video's duration is unknown");
			return -1;
		}
		/* A whole second per thumbnail at least, and at most REND_STORY_MAX_TILES of them. */
		plan->story_step_s = (int)((in->duration_ms + REND_STORY_MAX_TILES * 1000 - 1) /
		                           (REND_STORY_MAX_TILES * 1000));
		if (plan->story_step_s < 1)
			plan->story_step_s = 1;
		step_ms = (int64_t)plan->story_step_s * 1000;
		plan->story_count = (int)((in->duration_ms + step_ms - 1) / step_ms);
		if (plan->story_count > REND_STORY_MAX_TILES)
			plan->story_count = REND_STORY_MAX_TILES;
		plan->story_cols = plan->story_count < REND_STORY_COLS ? plan->story_count : REND_STORY_COLS;
		plan->story_rows = (plan->story_count + plan->story_cols - 1) / plan->story_cols;
		return 0;
	case REND_NONE:
		break;
	}
	why_set(why, whylen, "not a rendition preset");
	return -1;
}

/* Appends one argument, copied into the pool. */
static void arg(struct rend_argv *a, const char *s)
{
	size_t len = strlen(s) + 1;

	if (a->n + 1 >= REND_MAX_ARGS || a->used + len > sizeof(a->pool)) {
		a->overflow = true;
		return;
	}
	memcpy(a->pool + a->used, s, len);
	a->argv[a->n++] = a->pool + a->used;
	a->argv[a->n] = NULL;
	a->used += len;
}

static void argf(struct rend_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argf(struct rend_argv *a, const char *fmt, ...)
{
	char s[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s)) {
		a->overflow = true;
		return;
	}
	arg(a, s);
}

static void args(struct rend_argv *a, const char *const *list)
{
	for (; *list != NULL; list++)
		arg(a, *list);
}

/* The input, as every rendition reads it: "file:" pins the protocol, so no name is ever read as
 * another protocol or an option. */
static void input(struct rend_argv *a, const struct rend_input *in)
{
	arg(a, "-protocol_whitelist");
	arg(a, "file");
	arg(a, "-i");
	argf(a, "file:%s", in->path);
}

/* One JPEG of the first video stream: the filter graph vf, quality q, written to dir/name. */
static void jpeg_out(struct rend_argv *a, const char *vf, const char *q, const char *dir, const char *name)
{
	static const char *const video_only[] = { "-map", "0:v:0", "-an", "-frames:v", "1", NULL };

	args(a, video_only);
	arg(a, "-vf");
	arg(a, vf);
	arg(a, "-q:v");
	arg(a, q);
	arg(a, "-f");
	arg(a, "image2");
	arg(a, "-update");
	arg(a, "1");
	argf(a, "%s/%s", dir, name);
}

/* Appends to buf[0..len) at *o, cutting nothing: overflow sets *bad. */
static void cat(char *buf, size_t len, size_t *o, bool *bad, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static void cat(char *buf, size_t len, size_t *o, bool *bad, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len) {
		*bad = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *o)
		*bad = true;
	else
		*o += (size_t)n;
}

/*
 * One ffmpeg run for the whole ladder: the decoded frames are split once and scaled per rung, so
 * the source is read and decoded once. Keyframes are forced every REND_HLS_GOP_S seconds of
 * presentation time and scene-cut keyframes are off, so every rung cuts its segments at the same
 * instants whatever its frame rate or bitrate.
 */
static void hls_argv(const struct rend_plan *plan, const char *dir, struct rend_argv *a)
{
	static const char *const video_codec[] = { "-c:v",          "libx264", "-preset",  "veryfast",
		                                   "-profile:v",    "high",    "-pix_fmt", "yuv420p",
		                                   "-sc_threshold", "0",       NULL };
	static const char *const audio_codec[] = { "-c:a", "aac", "-ac", "2", "-ar", "48000", NULL };
	static const char *const muxer[] = { "-f",
		                             "hls",
		                             "-hls_playlist_type",
		                             "vod",
		                             "-hls_flags",
		                             "independent_segments",
		                             "-hls_segment_type",
		                             "fmp4",
		                             "-hls_fmp4_init_filename",
		                             "init.mp4",
		                             "-master_pl_name",
		                             "master.m3u8",
		                             NULL };
	char graph[1024], map[512];
	size_t g = 0, m = 0;
	bool bad = false, audio = plan->audio_only || plan->rungs[0].audio_kbps > 0;
	int i;

	if (plan->audio_only) {
		for (i = 0; i < plan->nrungs; i++) {
			arg(a, "-map");
			arg(a, "0:a:0");
			cat(map, sizeof(map), &m, &bad, "%sa:%d,name:%s", i ? " " : "", i,
			    plan->rungs[i].name);
		}
	} else {
		if (plan->nrungs > 1) {
			cat(graph, sizeof(graph), &g, &bad, "[0:v:0]split=%d", plan->nrungs);
			for (i = 0; i < plan->nrungs; i++)
				cat(graph, sizeof(graph), &g, &bad, "[s%d]", i);
			cat(graph, sizeof(graph), &g, &bad, ";");
		}
		for (i = 0; i < plan->nrungs; i++) {
			const struct rend_rung *r = &plan->rungs[i];

			if (plan->nrungs > 1)
				cat(graph, sizeof(graph), &g, &bad, "[s%d]", i);
			else
				cat(graph, sizeof(graph), &g, &bad, "[0:v:0]");
			cat(graph, sizeof(graph), &g, &bad,
			    "scale=w=%d:h=%d:force_original_aspect_ratio=decrease:force_divisible_by=2[v%d]%s",
			    r->box_w, r->box_h, i, i + 1 < plan->nrungs ? ";" : "");
			if (audio)
				cat(map, sizeof(map), &m, &bad, "%sv:%d,a:%d,name:%s", i ? " " : "", i, i,
				    r->name);
			else
				cat(map, sizeof(map), &m, &bad, "%sv:%d,name:%s", i ? " " : "", i, r->name);
		}
		arg(a, "-filter_complex");
		arg(a, graph);
		for (i = 0; i < plan->nrungs; i++) {
			arg(a, "-map");
			argf(a, "[v%d]", i);
			if (audio) {
				arg(a, "-map");
				arg(a, "0:a:0");
			}
		}
		args(a, video_codec);
		for (i = 0; i < plan->nrungs; i++) {
			argf(a, "-b:v:%d", i);
			argf(a, "%dk", plan->rungs[i].video_kbps);
			argf(a, "-maxrate:v:%d", i);
			argf(a, "%dk", plan->rungs[i].maxrate_kbps);
			argf(a, "-bufsize:v:%d", i);
			argf(a, "%dk", plan->rungs[i].bufsize_kbps);
		}
		arg(a, "-force_key_frames");
		argf(a, "expr:gte(t,n_forced*%d)", REND_HLS_GOP_S);
	}
	if (audio) {
		args(a, audio_codec);
		for (i = 0; i < plan->nrungs; i++) {
			argf(a, "-b:a:%d", i);
			argf(a, "%dk", plan->rungs[i].audio_kbps);
		}
	}
	if (bad)
		a->overflow = true;
	args(a, muxer);
	arg(a, "-hls_time");
	argf(a, "%d", REND_HLS_SEGMENT_S);
	arg(a, "-hls_segment_filename");
	argf(a, "%s/%%v/seg_%%05d.m4s", dir);
	arg(a, "-var_stream_map");
	arg(a, map);
	argf(a, "%s/%%v/index.m3u8", dir);
}

int rend_argv(const struct rend_plan *plan, const struct rend_input *in, const char *ffmpeg, const char *dir,
              struct rend_argv *a, int64_t *total_us)
{
	static const char *const head[] = { "-nostdin",  "-y",     "-hide_banner", "-loglevel", "error",
		                            "-progress", "pipe:1", "-nostats",     NULL };
	char vf[512];
	int64_t at_ms;

	memset(a, 0, sizeof(*a));
	*total_us = 0;
	arg(a, ffmpeg);
	args(a, head);
	switch (plan->kind) {
	case REND_HLS:
		input(a, in);
		hls_argv(plan, dir, a);
		*total_us = in->duration_ms > 0 ? in->duration_ms * 1000 : 0;
		break;
	case REND_POSTER:
		/* About 10 % in; the first frame that is not (90 % or more) black within 10 s after
		 * that, as ffmpeg's blackframe filter judges it. poster_plain drops the filter. */
		at_ms = in->duration_ms > 0 ? in->duration_ms * REND_POSTER_AT / 100 : 0;
		arg(a, "-ss");
		argf(a, "%" PRId64 ".%03" PRId64, at_ms / 1000, at_ms % 1000);
		if (!plan->poster_plain) {
			arg(a, "-t");
			arg(a, "10");
		}
		input(a, in);
		snprintf(vf, sizeof(vf),
		         "%sscale=w=min(iw\\,%d):h=min(ih\\,%d):force_original_aspect_ratio=decrease:"
		         "force_divisible_by=2",
		         plan->poster_plain ?
		                 "" :
		                 "blackframe=amount=0:threshold=32,metadata=mode=select:key=lavfi."
		                 "blackframe.pblack:value=90:function=less,",
		         REND_POSTER_MAX, REND_POSTER_MAX);
		jpeg_out(a, vf, "3", dir, "poster.jpg");
		break;
	case REND_STORYBOARD:
		input(a, in);
		snprintf(vf, sizeof(vf), "fps=1/%d:round=up,scale=%d:-2,tile=%dx%d", plan->story_step_s,
		         REND_STORY_WIDTH, plan->story_cols, plan->story_rows);
		jpeg_out(a, vf, "5", dir, "storyboard.jpg");
		break;
	case REND_NONE:
		return -1;
	}
	return a->overflow ? -1 : 0;
}

int rend_jpeg_size(const unsigned char *p, size_t n, int *w, int *h)
{
	size_t i = 2;

	if (n < 4 || p[0] != 0xFF || p[1] != 0xD8)
		return -1;
	while (i + 9 < n) {
		unsigned marker;
		size_t len;

		if (p[i] != 0xFF)
			return -1;
		marker = p[i + 1];
		if (marker == 0xFF) {
			i++; /* fill byte */
			continue;
		}
		len = ((size_t)p[i + 2] << 8) | p[i + 3];
		if (len < 2)
			return -1;
		/* SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): height, then width. */
		if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
			*h = (p[i + 5] << 8) | p[i + 6];
			*w = (p[i + 7] << 8) | p[i + 8];
			return *w > 0 && *h > 0 ? 0 : -1;
		}
		i += 2 + len;
	}
	return -1;
}

static void vtt_time(char *out, size_t len, int64_t ms)
{
	snprintf(out, len, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%03" PRId64, ms / 3600000,
	         ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

size_t rend_story_vtt(const struct rend_plan *plan, int64_t duration_ms, int tw, int th, char *out,
                      size_t outlen)
{
	size_t o = 0;
	bool bad = false;
	int k;

	cat(out, outlen, &o, &bad, "WEBVTT\n");
	for (k = 0; k < plan->story_count; k++) {
		int64_t start = (int64_t)k * plan->story_step_s * 1000,
		        end = start + plan->story_step_s * 1000;
		char a[32], b[32];

		if (end > duration_ms)
			end = duration_ms;
		if (end <= start)
			break;
		vtt_time(a, sizeof(a), start);
		vtt_time(b, sizeof(b), end);
		cat(out, outlen, &o, &bad, "\n%s --> %s\nstoryboard.jpg#xywh=%d,%d,%d,%d\n", a, b,
		    (k % plan->story_cols) * tw, (k / plan->story_cols) * th, tw, th);
	}
	return bad ? 0 : o;
}

/* Reads dir/name whole (at most max bytes) into a new NUL-terminated buffer. */
static char *read_small(int dfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			free(buf);
			buf = NULL;
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return buf;
}

/* The size of the regular file dir/name, or -1. */
static int64_t file_size(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_size;
}

/* True when s[0..n) is a file name ffmpeg's hls muxer writes for us: [a-z0-9_]+ . [a-z0-9]+ */
static bool plain_name(const char *s, size_t n)
{
	size_t i, dot = 0;

	if (n == 0 || n > 32)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.' && dot == 0 && i > 0)
			dot = i;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return dot > 0 && dot + 1 < n;
}

/* From ffmpeg's master playlist: the CODECS and RESOLUTION of the variant whose URI is uri. */
static void master_attrs(const char *master, const char *uri, struct rend_row *row)
{
	const char *line = master, *prev = NULL;
	size_t ulen = strlen(uri);

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

		if (len >= ulen && memcmp(line, uri, ulen) == 0 && (len == ulen || line[ulen] == '\r') &&
		    prev != NULL && strncmp(prev, "#EXT-X-STREAM-INF:", 18) == 0) {
			const char *c = strstr(prev, "CODECS=\""), *r = strstr(prev, "RESOLUTION=");
			int w, h;

			if (c != NULL && c < line) {
				size_t i, n = strcspn(c + 8, "\"\n");

				for (i = 0; i < n && i + 1 < sizeof(row->codecs); i++) {
					char ch = c[8 + i];

					if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					      (ch >= '0' && ch <= '9') || ch == '.' || ch == ','))
						break;
				}
				if (i == n && n + 1 <= sizeof(row->codecs)) {
					memcpy(row->codecs, c + 8, n);
					row->codecs[n] = '\0';
				}
			}
			if (r != NULL && r < line && sscanf(r + 11, "%dx%d", &w, &h) == 2 && w > 0 && h > 0) {
				row->width = w;
				row->height = h;
			}
			return;
		}
		prev = line;
		line = end != NULL ? end + 1 : NULL;
	}
}

/* Reads one variant back: its playlist, init segment and segments. */
static int finish_variant(int dfd, const struct rend_rung *rung, const char *master,
                          const struct rend_input *in, bool audio_only, struct rend_row *row, char *why,
                          size_t whylen)
{
	char *pl = NULL, *line, *next;
	size_t len = 0;
	int vfd;
	int rc = -1;
	bool ended = false;
	double dur = 0, total_dur = 0, peak = 0, peak_all = 0, pending = -1;
	int64_t total_bytes = 0, other = 0, nseg = 0;

	memset(row, 0, sizeof(*row));
	row->width = row->height = -1;
	row->frame_rate_milli = -1;
	snprintf(row->name, sizeof(row->name), "%s", rung->name);
	snprintf(row->path, sizeof(row->path), "%s/index.m3u8", rung->name);
	vfd = openat(dfd, rung->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0) {
		why_set(why, whylen, "variant %s was not written", rung->name);
		return -1;
	}
	pl = read_small(vfd, "index.m3u8", REND_PLAYLIST_MAX, &len);
	if (pl == NULL || strncmp(pl, "#EXTM3U", 7) != 0) {
		why_set(why, whylen, "variant %s has no playlist", rung->name);
		goto out;
	}
	other = (int64_t)len;
	for (line = pl; line != NULL && *line != '\0'; line = next) {
		size_t n;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		n = strcspn(line, "\r");
		line[n] = '\0';
		if (strncmp(line, "#EXTINF:", 8) == 0) {
			pending = strtod(line + 8, NULL);
		} else if (strncmp(line, "#EXT-X-MAP:URI=\"", 16) == 0) {
			size_t m = strcspn(line + 16, "\"");
			int64_t sz;

			line[16 + m] = '\0';
			if (!plain_name(line + 16, m) || (sz = file_size(vfd, line + 16)) < 0) {
				why_set(why, whylen, "variant %s: its init segment is missing", rung->name);
				goto out;
			}
			other += sz;
		} else if (strcmp(line, "#EXT-X-ENDLIST") == 0) {
			ended = true;
		} else if (line[0] != '#' && line[0] != '\0') {
			int64_t sz;
			double rate;

			if (pending <= 0 || !plain_name(line, strlen(line)) ||
			    (sz = file_size(vfd, line)) < 0) {
				why_set(why, whylen,
				        "variant %s: segment %.40s is missing or has no duration", rung->name,
				        line);
				goto out;
			}
			dur = pending;
			pending = -1;
			rate = (double)sz * 8 / dur;
			if (dur >= 1.0 && rate > peak)
				peak = rate;
			if (rate > peak_all)
				peak_all = rate;
			total_dur += dur;
			total_bytes += sz;
			nseg++;
		}
	}
	if (!ended || nseg == 0 || total_dur <= 0) {
		why_set(why, whylen, "variant %s: the playlist is incomplete", rung->name);
		goto out;
	}
	/* The busiest segment of a second or more: a last sliver of a segment is no peak. */
	row->bandwidth = (int64_t)(peak > 0 ? peak : peak_all) + 1;
	row->average_bandwidth = (int64_t)((double)total_bytes * 8 / total_dur);
	if (row->average_bandwidth > row->bandwidth)
		row->bandwidth = row->average_bandwidth;
	row->size_bytes = total_bytes + other;
	{
		char uri[40];

		snprintf(uri, sizeof(uri), "%s/index.m3u8", rung->name);
		if (master != NULL)
			master_attrs(master, uri, row);
	}
	if (!audio_only)
		row->frame_rate_milli = in->frame_rate_milli;
	else
		row->width = row->height = -1;
	rc = 0;
out:
	free(pl);
	close(vfd);
	return rc;
}

/* Writes name into dfd whole (the folder is a temp folder of ours: no temp name needed). */
static int write_file(int dfd, const char *name, const char *p, size_t n)
{
	/* 0644 less the umask, like the files ffmpeg writes beside it. */
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644), e = 0;

	if (fd < 0)
		return errno;
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	if (close(fd) != 0 && e == 0)
		e = errno;
	return e;
}

/* Measures a JPEG the run wrote. */
static int jpeg_of(int dfd, const char *name, int *w, int *h, int64_t *size)
{
	unsigned char head[65536];
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;
	struct stat st;
	int rc = -1;

	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		n = pread(fd, head, sizeof(head), 0);
		if (n > 0 && rend_jpeg_size(head, (size_t)n, w, h) == 0) {
			*size = (int64_t)st.st_size;
			rc = 0;
		}
	}
	close(fd);
	return rc;
}

int rend_finish(const struct rend_plan *plan, const struct rend_input *in, const char *dir,
                struct rend_result *out, char *why, size_t whylen)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = -1, i, e;
	char *master = NULL, vtt[16384];
	size_t mlen = 0, vlen;
	struct rend_row *row = &out->rows[0];

	memset(out, 0, sizeof(*out));
	if (dfd < 0) {
		why_set(why, whylen, "the output folder is gone: %s", strerror(errno));
		return -2;
	}
	switch (plan->kind) {
	case REND_HLS:
		master = read_small(dfd, "master.m3u8", REND_PLAYLIST_MAX, &mlen);
		for (i = 0; i < plan->nrungs; i++) {
			if (finish_variant(dfd, &plan->rungs[i], master, in, plan->audio_only, &out->rows[i],
			                   why, whylen) != 0)
				goto out;
			out->n++;
		}
		break;
	case REND_POSTER:
	case REND_STORYBOARD:
		memset(row, 0, sizeof(*row));
		row->frame_rate_milli = -1;
		row->bandwidth = row->average_bandwidth = -1;
		e = jpeg_of(dfd, plan->kind == REND_POSTER ? "poster.jpg" : "storyboard.jpg", &row->width,
		            &row->height, &row->size_bytes);
		if (e == 1 && plan->kind == REND_POSTER && !plan->poster_plain) {
			rc = 1;
			goto out;
		}
		if (e != 0) {
			why_set(why, whylen, "ffmpeg wrote no usable %s image",
			        plan->kind == REND_POSTER ? "poster" : "storyboard");
			goto out;
		}
		snprintf(row->name, sizeof(row->name), "%s", rend_kind_name(plan->kind));
		if (plan->kind == REND_POSTER) {
			snprintf(row->path, sizeof(row->path), "poster.jpg");
		} else {
			int tw = row->width / plan->story_cols, th = row->height / plan->story_rows;

			vlen = rend_story_vtt(plan, in->duration_ms, tw, th, vtt, sizeof(vtt));
			if (tw <= 0 || th <= 0 || vlen == 0) {
				why_set(why, whylen,
				        "the storyboard sprite is %dx%d, too small for %dx%d tiles",
				        row->width, row->height, plan->story_cols, plan->story_rows);
				goto out;
			}
			e = write_file(dfd, "storyboard.vtt", vtt, vlen);
			if (e != 0) {
				why_set(why, whylen, "cannot write the storyboard's WebVTT: %s", strerror(e));
				rc = -2;
				goto out;
			}
			snprintf(row->path, sizeof(row->path), "storyboard.vtt");
			row->size_bytes += (int64_t)vlen;
			row->width = tw;
			row->height = th;
		}
		out->n = 1;
		break;
	case REND_NONE:
		goto out;
	}
	e = files_sync_tree(dir);
	if (e != 0) {
		why_set(why, whylen, "cannot sync a render output: %s", strerror(e));
		rc = -2;
		goto out;
	}
	rc = 0;
out:
	free(master);
	close(dfd);
	return rc;
}
