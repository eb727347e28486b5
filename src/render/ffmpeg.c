/* ffmpeg.c: spawning and watching ffmpeg, and a failure reason safe to show a client. */
#include "config.h"

#include "render/ffmpeg.h"

#include <string.h>

_Static_assert(FFRUN_ERR_MAX <= CHILD_ERR_MAX, "the runner keeps the stderr tail");

static void ffrun_on_out(void *arg, const char *data, size_t len)
{
	(void)progress_feed(arg, data, len);
}

/* Copies the child's state into the fields the callers read. */
static void ffrun_sync(struct ffrun *r)
{
	r->pid = r->ch.pid;
	r->out_fd = r->ch.out_fd;
	r->err_fd = r->ch.err_fd;
	r->status = r->ch.status;
	r->err_len = r->ch.err_len;
	memcpy(r->err, r->ch.err, r->ch.err_len);
}

int ffrun_start_timed(struct ffrun *r, const char *const *argv, int64_t total_us, int64_t timeout_ms)
{
	struct child_opts opts;
	int rc;

	memset(r, 0, sizeof(*r));
	progress_init(&r->prog, total_us);
	memset(&opts, 0, sizeof(opts));
	opts.timeout_ms = timeout_ms;
	opts.on_out = ffrun_on_out;
	opts.on_out_arg = &r->prog;
	opts.err_keep = FFRUN_ERR_MAX;
	rc = child_start(&r->ch, argv, &opts);
	ffrun_sync(r);
	return rc;
}

int ffrun_start(struct ffrun *r, const char *const *argv, int64_t total_us)
{
	return ffrun_start_timed(r, argv, total_us, 0);
}

void ffrun_read(struct ffrun *r, int fd)
{
	child_read(&r->ch, fd);
	ffrun_sync(r);
}

int ffrun_percent(const struct ffrun *r)
{
	return progress_percent(&r->prog);
}

void ffrun_signal(struct ffrun *r, int sig)
{
	child_signal(&r->ch, sig);
}

bool ffrun_reap(struct ffrun *r, bool block)
{
	bool done = child_reap(&r->ch, block);

	ffrun_sync(r);
	return done;
}

bool ffrun_tick(struct ffrun *r)
{
	bool done = child_tick(&r->ch);

	ffrun_sync(r);
	return done;
}

void ffrun_close(struct ffrun *r)
{
	child_close(&r->ch);
	ffrun_sync(r);
}

size_t ffmpeg_reason(const char *err, size_t len, const char *media_root, char *out, size_t outlen)
{
	const char *end = err + len, *line = NULL, *le = NULL, *p;
	size_t rootlen = media_root ? strlen(media_root) : 0, o = 0;

	if (outlen == 0)
		return 0;
	if (outlen > FFRUN_REASON_MAX + 1)
		outlen = FFRUN_REASON_MAX + 1;
	/* The last line with something printable in it. */
	for (p = err; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end, *q;

		for (q = p; q < e && (*q == ' ' || *q == '\t' || *q == '\r'); q++)
			;
		if (q < e) {
			line = p;
			le = e;
		}
		p = nl ? nl + 1 : end;
	}
	for (p = line; p != NULL && p < le && o + 1 < outlen;) {
		unsigned char c = (unsigned char)*p;

		/* "file:" in front of a path is ours, not the user's business. */
		if ((size_t)(le - p) > 5 && memcmp(p, "file:/", 6) == 0) {
			p += 5;
			continue;
		}
		if (c == '/' &&
		    (p == line || p[-1] == ' ' || p[-1] == '\'' || p[-1] == '"' || p[-1] == ':')) {
			if (rootlen > 0 && (size_t)(le - p) > rootlen &&
			    memcmp(p, media_root, rootlen) == 0 && p[rootlen] == '/') {
				p += rootlen + 1; /* keep "uploads/..." relative to the media root */
				continue;
			}
			/* Any other absolute path: name it, don't show it. */
			while (p < le && *p != ' ' && *p != ':' && *p != '\'' && *p != '"' && *p != ',')
				p++;
			if (o + 6 < outlen) {
				memcpy(out + o, "<path>", 6);
				o += 6;
			}
			continue;
		}
		if (c < 0x20 || c == 0x7f || c >= 0x80) {
			/* ffmpeg's messages are ASCII; anything else (a file name's bytes) is dropped. */
			p++;
			continue;
		}
		out[o++] = (char)c;
		p++;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}
