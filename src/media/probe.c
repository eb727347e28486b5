/* probe.c: classifies ffprobe's JSON output and judges a finished run; no I/O (see probe.h). */
#include "config.h"

#include "media/probe.h"

#include "util/buf.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ffprobe's JSON is 4 levels deep (root, streams, stream, disposition); leave room. */
#define PROBE_JSON_DEPTH 16
/* Longest piece of ffprobe's stderr quoted in why. */
#define PROBE_REASON_MAX 200

/* A still-image codec as its image demuxer reports it. */
struct probe_image_map {
	const char *format_name;
	const char *codec;
	const char *mime;
	const char *ext;
};

/* clang-format off */
static const struct probe_image_map probe_images[] = {
	{ "png_pipe",  "png",   "image/png",  "png"  },
	{ "image2",    "png",   "image/png",  "png"  },
	{ "jpeg_pipe", "mjpeg", "image/jpeg", "jpg"  },
	{ "image2",    "mjpeg", "image/jpeg", "jpg"  },
	{ "gif",       "gif",   "image/gif",  "gif"  },
	{ "image2",    "gif",   "image/gif",  "gif"  },
	{ "webp_pipe", "webp",  "image/webp", "webp" },
	{ "image2",    "webp",  "image/webp", "webp" },
	{ "bmp_pipe",  "bmp",   "image/bmp",  "bmp"  },
	{ "image2",    "bmp",   "image/bmp",  "bmp"  },
	{ "tiff_pipe", "tiff",  "image/tiff", "tiff" },
	{ "image2",    "tiff",  "image/tiff", "tiff" },
};
/* clang-format on */

/* A container by ffprobe's exact format_name; NULL mime: not accepted for that kind. */
struct probe_container_map {
	const char *format_name;
	const char *video_mime;
	const char *video_ext;
	const char *audio_mime;
	const char *audio_ext;
};

/* clang-format off */
static const struct probe_container_map probe_containers[] = {
	{ "mov,mp4,m4a,3gp,3g2,mj2", "video/mp4",       "mp4",  "audio/mp4",  "m4a"  },
	{ "matroska,webm",           "video/webm",      "webm", "audio/webm", "webm" },
	{ "avi",                     "video/x-msvideo", "avi",  NULL,         NULL   },
	{ "mpegts",                  "video/mp2t",      "ts",   NULL,         NULL   },
	{ "ogg",                     "video/ogg",       "ogv",  "audio/ogg",  "ogg"  },
	{ "wav",                     NULL,              NULL,   "audio/wav",  "wav"  },
	{ "mp3",                     NULL,              NULL,   "audio/mpeg", "mp3"  },
	{ "flac",                    NULL,              NULL,   "audio/flac", "flac" },
	{ "aac",                     NULL,              NULL,   "audio/aac",  "aac"  },
};
/* clang-format on */

/* Codecs that draw text as pictures: the tty demuxer turns any longer text file into one. */
static const char *const probe_text_art_codecs[] = { "ansi", "bintext", "xbin", "idf" };

const char *probe_kind_name(enum probe_kind kind)
{
	switch (kind) {
	case PROBE_IMAGE:
		return "image";
	case PROBE_VIDEO:
		return "video";
	case PROBE_AUDIO:
		return "audio";
	case PROBE_OTHER:
		break;
	}
	return "other";
}

/* "an" before a name starting with a vowel letter ("an avi file"), else "a". */
static const char *probe_article(const char *name)
{
	return strchr("aeiouAEIOU", name[0]) != NULL && name[0] != '\0' ? "an" : "a";
}

void probe_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

void probe_result_reset(struct probe_result *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = PROBE_OTHER;
	out->duration_ms = -1;
	out->width = -1;
	out->height = -1;
	out->frame_rate_milli = -1;
}

/* Copies a name from ffprobe into dst[0..dstlen), cut to fit, anything but [A-Za-z0-9_.,+-] as '?'. */
static void probe_copy_name(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	if (dstlen == 0)
		return;
	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++) {
		char c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '_' || c == '.' || c == ',' || c == '+' || c == '-';

		dst[i] = ok ? c : '?';
	}
	dst[i] = '\0';
}

/* The string member key of o, or NULL when absent or not a string. */
static const char *probe_get_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The integer member key of o in [0, INT_MAX], or -1 when absent, of another type or out of range. */
static int probe_get_int(struct json_object *o, const char *key)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	if (n < 0 || n > INT_MAX)
		return -1;
	return (int)n;
}

/*
 * A stream's avg_frame_rate ("30000/1001") in frames per second x 1000, or -1 when absent,
 * malformed, "0/0" (ffprobe's unknown) or outside 0 < fps <= 1000.
 */
static int64_t probe_frame_rate_milli(struct json_object *stream)
{
	const char *r = probe_get_string(stream, "avg_frame_rate");
	unsigned long long num, den;
	char tail;

	if (r == NULL || sscanf(r, "%llu/%llu%c", &num, &den, &tail) != 2 || num == 0 || den == 0 ||
	    num > 1000ULL * den || num > UINT32_MAX || den > UINT32_MAX)
		return -1;
	return (int64_t)((num * 1000 + den / 2) / den);
}

/*
 * Whether the stream is shown turned a quarter (its display matrix says 90 or 270 degrees): players
 * and ffmpeg's autorotate then show it with width and height swapped. ffprobe 5.1 reports the
 * matrix in side_data_list as "rotation"; older versions put a "rotate" tag.
 */
static bool probe_quarter_turn(struct json_object *stream)
{
	struct json_object *list, *tags, *v;
	const char *tag;
	size_t i, n;
	long deg = 0;

	if (json_object_object_get_ex(stream, "side_data_list", &list) &&
	    json_object_is_type(list, json_type_array)) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++) {
			struct json_object *sd = json_object_array_get_idx(list, i);

			if (json_object_is_type(sd, json_type_object) &&
			    json_object_object_get_ex(sd, "rotation", &v) &&
			    (json_object_is_type(v, json_type_int) ||
			     json_object_is_type(v, json_type_double)))
				deg = (long)json_object_get_double(v);
		}
	}
	if (deg == 0 && json_object_object_get_ex(stream, "tags", &tags) &&
	    json_object_is_type(tags, json_type_object) && (tag = probe_get_string(tags, "rotate")) != NULL)
		deg = strtol(tag, NULL, 10);
	deg %= 360;
	if (deg < 0)
		deg += 360;
	return deg == 90 || deg == 270;
}

/* Parses 1*DIGIT from s into *out; false on anything else or overflow. */
static bool probe_parse_count(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		int d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/*
 * Parses ffprobe's duration "SECONDS[.FRACTION]" (printed "%f", so "1.044898") into whole
 * milliseconds, rounded down. Locale-independent. False on signs, exponents, "N/A", overflow.
 */
static bool probe_parse_seconds_ms(const char *s, int64_t *ms)
{
	int64_t sec = 0, frac = 0;
	size_t i = 0, nfrac = 0;

	if (s[0] < '0' || s[0] > '9')
		return false;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		int d = s[i] - '0';

		if (sec > (INT64_MAX / 1000 - d) / 10)
			return false;
		sec = sec * 10 + d;
	}
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, nfrac++) {
			if (nfrac < 3)
				frac = frac * 10 + (s[i] - '0');
		}
	}
	if (s[i] != '\0')
		return false;
	for (; nfrac < 3; nfrac++)
		frac *= 10;
	*ms = sec * 1000 + frac;
	return true;
}

/* format.duration in ms, or -1 when absent or not a non-negative decimal. */
static int64_t probe_duration_ms(struct json_object *format)
{
	const char *s = probe_get_string(format, "duration");
	int64_t ms;

	if (s == NULL || !probe_parse_seconds_ms(s, &ms))
		return -1;
	return ms;
}

/* Whether a stream's disposition marks it as cover art rather than a picture track. */
static bool probe_is_attached_pic(struct json_object *stream)
{
	struct json_object *disp;

	if (!json_object_object_get_ex(stream, "disposition", &disp) ||
	    !json_object_is_type(disp, json_type_object))
		return false;
	return probe_get_int(disp, "attached_pic") == 1;
}

static bool probe_is_text_art(const char *codec)
{
	size_t i;

	for (i = 0; i < sizeof(probe_text_art_codecs) / sizeof(probe_text_art_codecs[0]); i++) {
		if (strcmp(codec, probe_text_art_codecs[i]) == 0)
			return true;
	}
	return false;
}

static const struct probe_image_map *probe_find_image(const char *format_name, const char *codec)
{
	size_t i;

	for (i = 0; i < sizeof(probe_images) / sizeof(probe_images[0]); i++) {
		if (strcmp(format_name, probe_images[i].format_name) == 0 &&
		    strcmp(codec, probe_images[i].codec) == 0)
			return &probe_images[i];
	}
	return NULL;
}

static const struct probe_container_map *probe_find_container(const char *format_name)
{
	size_t i;

	for (i = 0; i < sizeof(probe_containers) / sizeof(probe_containers[0]); i++) {
		if (strcmp(format_name, probe_containers[i].format_name) == 0)
			return &probe_containers[i];
	}
	return NULL;
}

/*
 * Parses a whole ffprobe JSON document: one object, then only whitespace. Returns the object
 * (caller owns it) or NULL with why set.
 */
static struct json_object *probe_parse_json(const char *json, size_t len, char *why, size_t whylen)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	struct json_object *ret = NULL;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT_MAX) {
		probe_why(why, whylen, "ffprobe output is too large");
		goto out;
	}
	tok = json_tokener_new_ex(PROBE_JSON_DEPTH);
	if (tok == NULL) {
		probe_why(why, whylen, "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		probe_why(why, whylen, "ffprobe output is not valid JSON: %s",
		          jerr == json_tokener_continue ? "unexpected end of data" :
		                                          json_tokener_error_desc(jerr));
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		char c = json[end];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			probe_why(why, whylen, "ffprobe output is not valid JSON: data after the object");
			goto out;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		probe_why(why, whylen, "ffprobe output is not a JSON object");
		goto out;
	}
	ret = obj;
	obj = NULL;
out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return ret;
}

/* Fills out for a real video stream v in a demuxer the tables do not map to an image. */
static void probe_classify_video(struct probe_result *out, const char *format_name, char *why, size_t whylen)
{
	const struct probe_container_map *c = probe_find_container(format_name);
	const char *codec = out->video_codec[0] != '\0' ? out->video_codec : "unknown codec";

	if (c == NULL || c->video_mime == NULL) {
		snprintf(out->found, sizeof(out->found), "a video (%s) in an unsupported container (%s)",
		         codec, out->format_name);
		probe_why(why, whylen, "unsupported container %s", out->format_name);
		return;
	}
	out->kind = PROBE_VIDEO;
	snprintf(out->mime, sizeof(out->mime), "%s", c->video_mime);
	snprintf(out->ext, sizeof(out->ext), "%s", c->video_ext);
	snprintf(out->found, sizeof(out->found), "a video (%s in %s)", codec, out->ext);
}

/* Fills out for an audio stream with no real video stream beside it. */
static void probe_classify_audio(struct probe_result *out, const char *format_name, char *why, size_t whylen)
{
	const struct probe_container_map *c = probe_find_container(format_name);
	const char *codec = out->audio_codec[0] != '\0' ? out->audio_codec : "unknown codec";

	if (c == NULL || c->audio_mime == NULL) {
		snprintf(out->found, sizeof(out->found), "audio (%s) in an unsupported container (%s)", codec,
		         out->format_name);
		probe_why(why, whylen, "unsupported container %s", out->format_name);
		return;
	}
	out->kind = PROBE_AUDIO;
	snprintf(out->mime, sizeof(out->mime), "%s", c->audio_mime);
	snprintf(out->ext, sizeof(out->ext), "%s", c->audio_ext);
	snprintf(out->found, sizeof(out->found), "an audio file (%s in %s)", codec, out->ext);
}

/* Fills out for a still-image codec in its image demuxer (img), the stream being v. */
static void probe_classify_image(struct probe_result *out, const struct probe_image_map *img,
                                 struct json_object *v, char *why, size_t whylen)
{
	int64_t frames = -1;
	bool animated;

	if (out->width <= 0 || out->height <= 0) {
		/* The demuxer matched the name or a few bytes, the decoder then refused the data. */
		snprintf(out->found, sizeof(out->found), "%s %s file whose %s image could not be decoded",
		         probe_article(out->format_name), out->format_name, img->ext);
		probe_why(why, whylen, "the image could not be decoded");
		out->width = -1;
		out->height = -1;
		return;
	}
	out->kind = PROBE_IMAGE;
	snprintf(out->mime, sizeof(out->mime), "%s", img->mime);
	snprintf(out->ext, sizeof(out->ext), "%s", img->ext);
	/* ffprobe counts GIF frames; an unknown count keeps the duration, which is harmless. */
	animated = strcmp(img->codec, "gif") == 0 &&
	           !(probe_parse_count(probe_get_string(v, "nb_frames"), &frames) && frames <= 1);
	if (animated && frames > 1)
		snprintf(out->found, sizeof(out->found), "an animated image (%s)", img->ext);
	else
		snprintf(out->found, sizeof(out->found), "an image (%s)", img->ext);
	if (!animated)
		out->duration_ms = -1;
}

int probe_classify(const char *json, size_t len, struct probe_result *out, char *why, size_t whylen)
{
	struct json_object *root = NULL;
	struct json_object *format, *streams = NULL;
	struct json_object *v = NULL, *a = NULL;
	const struct probe_image_map *img = NULL;
	const char *format_name;
	size_t i, n = 0;
	int rc = -1;

	probe_result_reset(out);
	probe_why(why, whylen, "%s", "");
	root = probe_parse_json(json, len, why, whylen);
	if (root == NULL)
		goto out;
	if (!json_object_object_get_ex(root, "format", &format) ||
	    !json_object_is_type(format, json_type_object)) {
		probe_why(why, whylen, "ffprobe output has no format section");
		goto out;
	}
	format_name = probe_get_string(format, "format_name");
	if (format_name == NULL || format_name[0] == '\0') {
		probe_why(why, whylen, "ffprobe output has no format name");
		goto out;
	}
	if (json_object_object_get_ex(root, "streams", &streams)) {
		if (!json_object_is_type(streams, json_type_array)) {
			probe_why(why, whylen, "ffprobe output has a malformed stream list");
			goto out;
		}
		n = json_object_array_length(streams);
	}
	for (i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(streams, i);
		const char *type, *codec;

		if (!json_object_is_type(s, json_type_object))
			continue;
		type = probe_get_string(s, "codec_type");
		codec = probe_get_string(s, "codec_name");
		if (type == NULL)
			continue;
		if (codec == NULL)
			codec = "";
		if (strcmp(type, "video") == 0 && v == NULL && !probe_is_attached_pic(s) &&
		    !probe_is_text_art(codec))
			v = s;
		else if (strcmp(type, "audio") == 0 && a == NULL)
			a = s;
	}

	probe_copy_name(out->format_name, sizeof(out->format_name), format_name);
	out->duration_ms = probe_duration_ms(format);
	if (v != NULL) {
		const char *codec = probe_get_string(v, "codec_name");
		int w = probe_get_int(v, "width"), h = probe_get_int(v, "height");

		probe_copy_name(out->video_codec, sizeof(out->video_codec), codec != NULL ? codec : "");
		/* The size as shown: a phone's portrait clip is stored landscape with a display
		 * matrix, and the rendition ladder must be portrait. */
		if (probe_quarter_turn(v)) {
			int t = w;

			w = h;
			h = t;
		}
		out->width = w > 0 && h > 0 ? w : -1;
		out->height = w > 0 && h > 0 ? h : -1;
		out->frame_rate_milli = probe_frame_rate_milli(v);
		img = probe_find_image(format_name, codec != NULL ? codec : "");
	}
	if (a != NULL) {
		const char *codec = probe_get_string(a, "codec_name");

		probe_copy_name(out->audio_codec, sizeof(out->audio_codec), codec != NULL ? codec : "");
	}

	if (img != NULL) {
		probe_classify_image(out, img, v, why, whylen);
	} else if (v != NULL) {
		probe_classify_video(out, format_name, why, whylen);
	} else if (a != NULL) {
		probe_classify_audio(out, format_name, why, whylen);
	} else {
		snprintf(out->found, sizeof(out->found), "%s %s file with no audio or video stream",
		         probe_article(out->format_name), out->format_name);
		probe_why(why, whylen, "no audio or video stream");
	}
	if (out->kind == PROBE_OTHER)
		out->duration_ms = -1;
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

/* ---- judging a finished ffprobe run ------------------------------------------------------- */

/* Whether s[0..n) starts with the NUL-terminated lit. */
static bool probe_starts(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && memcmp(s, lit, l) == 0;
}

/*
 * Picks the reason out of ffprobe's stderr s[0..len) into msg[0..msglen): the text after the last
 * "<input>: " (ffprobe's own verdict on the input), else the last non-empty line, a leading
 * "[demuxer @ 0xADDR] " shortened to "demuxer: ". Any other mention of input or abspath
 * becomes "the file" and bytes outside printable ASCII become '?', so no path gets out.
 */
static void probe_stderr_reason(const char *s, size_t len, const char *input, const char *abspath, char *msg,
                                size_t msglen)
{
	const char *end = s + len;
	const char *line = NULL, *line_end = NULL;
	struct buf prefix = BUF_INIT;
	size_t o = 0;

	msg[0] = '\0';
	if (buf_printf(&prefix, "%s: ", input) == 0) {
		const char *p = s, *hit = NULL;

		while (p < end) {
			const char *q = memmem(p, (size_t)(end - p), prefix.data, prefix.len);

			if (q == NULL)
				break;
			hit = q;
			p = q + 1;
		}
		if (hit != NULL) {
			line = hit + prefix.len;
			line_end = memchr(line, '\n', (size_t)(end - line));
			if (line_end == NULL)
				line_end = end;
		}
	}
	buf_free(&prefix);
	if (line == NULL) {
		const char *p = end;

		/* Last non-empty line: skip trailing blanks, then back to the previous newline. */
		while (p > s && (p[-1] == '\n' || p[-1] == '\r' || p[-1] == ' '))
			p--;
		line_end = p;
		while (p > s && p[-1] != '\n')
			p--;
		line = p;
		if (line_end - line > 1 && line[0] == '[') {
			const char *at = memmem(line, (size_t)(line_end - line), " @ 0x", 5);
			const char *close = memchr(line, ']', (size_t)(line_end - line));

			if (at != NULL && close != NULL && at < close && close + 1 < line_end &&
			    close[1] == ' ') {
				size_t nlen = (size_t)(at - line - 1);

				if (nlen + 3 < msglen) {
					memcpy(msg, line + 1, nlen);
					memcpy(msg + nlen, ": ", 2);
					o = nlen + 2;
				}
				line = close + 2;
			}
		}
	}
	while (line < line_end && (line_end[-1] == '\r' || line_end[-1] == ' '))
		line_end--;
	while (line < line_end && o + 1 < msglen && o < PROBE_REASON_MAX) {
		size_t rest = (size_t)(line_end - line);
		const char *rep = NULL;
		size_t skip = 0;

		if (probe_starts(line, rest, input)) {
			rep = "the file";
			skip = strlen(input);
		} else if (abspath[0] != '\0' && probe_starts(line, rest, abspath)) {
			rep = "the file";
			skip = strlen(abspath);
		}
		if (rep != NULL) {
			size_t k;

			for (k = 0; rep[k] != '\0' && o + 1 < msglen; k++)
				msg[o++] = rep[k];
			line += skip;
			continue;
		}
		msg[o++] = (*line >= 0x20 && *line < 0x7f) ? *line : '?';
		line++;
	}
	msg[o] = '\0';
}

int probe_verdict(const struct probe_cmd *cmd, const struct probe_outcome *o, struct probe_result *out,
                  char *why, size_t whylen)
{
	int st = o->status, rc = -1;

	probe_result_reset(out);
	probe_why(why, whylen, "%s", "");
	if (o->timed_out) {
		probe_why(why, whylen, "ffprobe timed out after %d s", cmd->timeout_s);
	} else if (o->out_over_cap) {
		probe_why(why, whylen, "ffprobe output is larger than %d KiB", PROBE_STDOUT_MAX / 1024);
	} else if (o->read_errno != 0) {
		probe_why(why, whylen, "could not read ffprobe's output: %s",
		          o->read_errno == ENOMEM ? "out of memory" : strerror(o->read_errno));
		rc = -2;
	} else if (o->wait_errno != 0) {
		probe_why(why, whylen, "could not get ffprobe's exit status: %s", strerror(o->wait_errno));
		rc = -2;
	} else if (WIFSIGNALED(st)) {
		probe_why(why, whylen, "ffprobe was killed by signal %d", WTERMSIG(st));
	} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		char msg[PROBE_REASON_MAX + 1];

		probe_stderr_reason(o->err, o->err_len, cmd->input.data, cmd->abspath.data, msg, sizeof(msg));
		if (msg[0] != '\0')
			probe_why(why, whylen, "ffprobe could not read the file: %s", msg);
		else
			probe_why(why, whylen, "ffprobe failed with exit status %d", WEXITSTATUS(st));
	} else if (WIFEXITED(st)) {
		rc = probe_classify(o->out, o->out_len, out, why, whylen);
	} else {
		probe_why(why, whylen, "ffprobe ended in an unexpected way");
	}
	if (rc != 0)
		probe_result_reset(out);
	return rc;
}
