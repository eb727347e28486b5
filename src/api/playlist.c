/* playlist.c: the master playlist from the rows, and signed copies of stored playlists and WebVTT. */
#include "config.h"

#include "api/playlist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth/signlink.h"
#include "store/renditions.h"

#define MAP_TAG "#EXT-X-MAP:"
#define VTT_SIGNATURE "WEBVTT"
#define UTF8_BOM "\xEF\xBB\xBF"

/* A read position in a text held in memory. */
struct cursor {
	const char *p;
	size_t len, pos;
};

/* The next line of c into *line and *n, without its LF (and a CR before it). False at the end. */
static bool next_line(struct cursor *c, const char **line, size_t *n)
{
	const char *nl;
	size_t rest;

	if (c->pos >= c->len)
		return false;
	rest = c->len - c->pos;
	*line = c->p + c->pos;
	nl = memchr(*line, '\n', rest);
	*n = nl != NULL ? (size_t)(nl - *line) : rest;
	c->pos += *n + (nl != NULL ? 1 : 0);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return true;
}

static bool starts_with(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && memcmp(s, lit, l) == 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* playlist_file_ok over s[0..n): prefix, min to max digits, suffix. */
static bool file_ok_n(const char *s, size_t n)
{
	static const struct {
		const char *prefix, *suffix;
		size_t min, max;
	} forms[] = {
		/* ffmpeg's hls muxer names the init segment init_<n>.mp4 when it writes several
		 * variants, and plain init.mp4 for a ladder of one rung. */
		{ "init_", ".mp4", 1, 2 },
		{ "init", ".mp4", 0, 0 },
		{ "seg_", ".m4s", 5, 9 },
	};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t pl = strlen(forms[i].prefix), sl = strlen(forms[i].suffix), digits;

		if (n < pl + sl || memcmp(s, forms[i].prefix, pl) != 0 ||
		    memcmp(s + n - sl, forms[i].suffix, sl) != 0)
			continue;
		digits = n - pl - sl;
		if (digits >= forms[i].min && digits <= forms[i].max &&
		    (digits == 0 || all_digits(s + pl, digits)))
			return true;
	}
	return false;
}

bool playlist_file_ok(const char *name)
{
	return name != NULL && file_ok_n(name, strlen(name));
}

const char *playlist_file_type(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && strcmp(name + n - 3, ".ts") == 0 ? "video/mp2t" : "video/mp4";
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the reason into err; returns -1. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Appends file[0..n) and "?expires=E&sig=S", S signed for "<dir>/<file>" (dir NULL: "<file>"), the
 * path the URI names inside the package. Returns 0 or -1 (reason in err).
 */
static int put_signed(struct buf *out, const struct playlist_signer *s, const char *dir, const char *file,
                      size_t n, char *err, size_t errlen)
{
	char path[SIGNLINK_PATH_MAX + 1], sig[SIGNLINK_SIG_SIZE];
	int k;

	if (dir != NULL)
		k = snprintf(path, sizeof(path), "%s/%.*s", dir, (int)n, file);
	else
		k = snprintf(path, sizeof(path), "%.*s", (int)n, file);
	if (k < 0 || (size_t)k >= sizeof(path) ||
	    signlink_sign_path(s->key, s->media_id, s->expires, path, sig, sizeof(sig)) != 0)
		return fail(err, errlen, "cannot sign \"%.60s\"", path);
	buf_append(out, file, n);
	buf_printf(out, "?expires=%" PRId64 "&sig=%s", s->expires, sig);
	return 0;
}

/* Whether s is RFC 6381 codecs as a quoted attribute may hold them: [A-Za-z0-9.,+_-]. */
static bool codecs_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(".,+_-", s[i]) != NULL))
			return false;
	return true;
}

/* Whether s is a decimal-floating-point as PostgreSQL writes numeric(7,3) (digits, '.', digits),
 * or "" (none). */
static bool frame_rate_ok(const char *s)
{
	const char *dot = strchr(s, '.');

	if (s[0] == '\0')
		return true;
	if (dot == NULL)
		return all_digits(s, strlen(s));
	return all_digits(s, (size_t)(dot - s)) && all_digits(dot + 1, strlen(dot + 1));
}

int playlist_master(const struct rendition *v, int n, const struct playlist_signer *s, struct buf *out,
                    char *err, size_t errlen)
{
	int i;

	/* Version 7: the variants are fMP4 (EXT-X-MAP in a media playlist needs 6 or more, and
	 * ffmpeg writes 7 in them). */
	buf_puts(out, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
	for (i = 0; i < n; i++) {
		const struct rendition *r = &v[i];

		if (!renditions_name_ok(r->name))
			return fail(err, errlen, "variant %d has a malformed name", i);
		if (r->bandwidth <= 0)
			return fail(err, errlen, "variant %s has no bandwidth", r->name);
		if (!codecs_ok(r->codecs))
			return fail(err, errlen, "variant %s has malformed codecs", r->name);
		if (!frame_rate_ok(r->frame_rate))
			return fail(err, errlen, "variant %s has a malformed frame rate", r->name);
		buf_printf(out, "#EXT-X-STREAM-INF:BANDWIDTH=%" PRId64, r->bandwidth);
		if (r->average_bandwidth > 0)
			buf_printf(out, ",AVERAGE-BANDWIDTH=%" PRId64, r->average_bandwidth);
		if (r->width > 0 && r->height > 0)
			buf_printf(out, ",RESOLUTION=%" PRId64 "x%" PRId64, r->width, r->height);
		if (r->codecs[0] != '\0')
			buf_printf(out, ",CODECS=\"%s\"", r->codecs);
		if (r->frame_rate[0] != '\0')
			buf_printf(out, ",FRAME-RATE=%s", r->frame_rate);
		/* Relative to the master: <name>/index.m3u8, signed for that path. */
		buf_printf(out, "\n%s/", r->name);
		if (put_signed(out, s, r->name, PLAYLIST_VARIANT_INDEX, strlen(PLAYLIST_VARIANT_INDEX), err,
		               errlen) != 0)
			return -1;
		buf_putc(out, '\n');
	}
	return out->failed ? fail(err, errlen, "out of memory") : 0;
}

/*
 * Appends an EXT-X-MAP line with its URI attribute signed. The attribute list is the tag's
 * (RFC 8216 4.2): URI="..." at its start or after a comma, with a playlist_file_ok value.
 */
static int sign_map(struct buf *out, const char *line, size_t n, const char *variant,
                    const struct playlist_signer *s, char *err, size_t errlen)
{
	size_t i = strlen(MAP_TAG), start, end;

	for (;;) {
		if (starts_with(line + i, n - i, "URI=\""))
			break;
		/* On to the next attribute: past a quoted string's commas, if any. */
		while (i < n && line[i] != ',') {
			if (line[i] == '"') {
				const char *q = memchr(line + i + 1, '"', n - i - 1);

				if (q == NULL)
					return fail(err, errlen,
					            "an EXT-X-MAP tag has an unterminated string");
				i = (size_t)(q - line);
			}
			i++;
		}
		if (i >= n)
			return fail(err, errlen, "an EXT-X-MAP tag has no URI");
		i++;
	}
	start = i + strlen("URI=\"");
	for (end = start; end < n && line[end] != '"'; end++)
		;
	if (end >= n || !file_ok_n(line + start, end - start))
		return fail(err, errlen, "an EXT-X-MAP tag has a URI that is not an initialisation segment");
	buf_append(out, line, start);
	if (put_signed(out, s, variant, line + start, end - start, err, errlen) != 0)
		return -1;
	buf_append(out, line + end, n - end);
	return 0;
}

int playlist_sign_media(const char *in, size_t len, const char *variant, const struct playlist_signer *s,
                        struct buf *out, char *err, size_t errlen)
{
	struct cursor c = { in, len, 0 };
	const char *line;
	size_t n;

	if (memchr(in, '\0', len) != NULL)
		return fail(err, errlen, "the playlist holds a NUL byte");
	if (!next_line(&c, &line, &n) || n != strlen("#EXTM3U") || memcmp(line, "#EXTM3U", n) != 0)
		return fail(err, errlen, "the playlist does not start with #EXTM3U");
	buf_puts(out, "#EXTM3U\n");
	while (next_line(&c, &line, &n)) {
		if (n == 0) {
			/* A blank line: kept. */
		} else if (starts_with(line, n, MAP_TAG)) {
			if (sign_map(out, line, n, variant, s, err, errlen) != 0)
				return -1;
		} else if (line[0] == '#') {
			/* EXT-X-KEY, -PART, -MEDIA...: a render writes none, and their URIs would reach
			 * the player unsigned. */
			if (memmem(line, n, "URI=", 4) != NULL)
				return fail(err, errlen, "the tag \"%.*s\" has a URI", (int)(n > 40 ? 40 : n),
				            line);
			buf_append(out, line, n);
		} else if (file_ok_n(line, n)) {
			if (put_signed(out, s, variant, line, n, err, errlen) != 0)
				return -1;
		} else {
			return fail(err, errlen, "the URI \"%.*s\" is not a segment", (int)(n > 40 ? 40 : n),
			            line);
		}
		buf_putc(out, '\n');
	}
	return out->failed ? fail(err, errlen, "out of memory") : 0;
}

int playlist_sign_vtt(const char *in, size_t len, const char *sprite, const struct playlist_signer *s,
                      struct buf *out, char *err, size_t errlen)
{
	struct cursor c = { in, len, 0 };
	size_t n, sl = strlen(sprite);
	bool in_cue = false;
	const char *line;

	if (memchr(in, '\0', len) != NULL)
		return fail(err, errlen, "the WebVTT file holds a NUL byte");
	if (starts_with(in, len, UTF8_BOM)) {
		buf_puts(out, UTF8_BOM);
		c.pos = strlen(UTF8_BOM);
	}
	/* "WEBVTT" alone, or followed by a blank and a header text (W3C WebVTT 4.1). */
	if (!next_line(&c, &line, &n) || !starts_with(line, n, VTT_SIGNATURE) ||
	    (n > strlen(VTT_SIGNATURE) && line[strlen(VTT_SIGNATURE)] != ' ' &&
	     line[strlen(VTT_SIGNATURE)] != '\t'))
		return fail(err, errlen, "the file does not start with WEBVTT");
	buf_append(out, line, n);
	buf_putc(out, '\n');
	while (next_line(&c, &line, &n)) {
		if (n == 0) {
			in_cue = false;
			buf_putc(out, '\n');
			continue;
		}
		if (!in_cue && memmem(line, n, "-->", 3) != NULL) {
			/* The cue timings: its payload lines follow, up to a blank line. */
			in_cue = true;
			buf_append(out, line, n);
		} else if (in_cue) {
			if (!starts_with(line, n, sprite) || (n > sl && line[sl] != '#'))
				return fail(err, errlen, "a cue's payload \"%.*s\" is not the sprite",
				            (int)(n > 40 ? 40 : n), line);
			if (put_signed(out, s, NULL, line, sl, err, errlen) != 0)
				return -1;
			buf_append(out, line + sl, n - sl);
		} else {
			buf_append(out, line, n);
		}
		buf_putc(out, '\n');
	}
	return out->failed ? fail(err, errlen, "out of memory") : 0;
}
