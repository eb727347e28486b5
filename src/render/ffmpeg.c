/* ffmpeg.c: spawning and watching ffmpeg, and a failure reason safe to show a client. */
#include "config.h"

#include "render/ffmpeg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ffmpeg needs nothing of ours: not DATABASE_URL, not JWT_SECRET. */
static char env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
static char env_locale[] = "LC_ALL=C";
static char *const ffmpeg_env[] = { env_path, env_locale, NULL };

int ffrun_start(struct ffrun *r, const char *const *argv, int64_t total_us)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc;

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->out_fd = r->err_fd = -1;
	progress_init(&r->prog, total_us);
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		rc = errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* Its own process group: a stop reaches ffmpeg and anything it started. Default signal
	 * dispositions and an empty mask, whatever the spawner has blocked. */
	{
		sigset_t none, all;

		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
	}
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr,
	                         POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* posix_spawn does not modify argv; its prototype predates const. */
	rc = posix_spawnp(&r->pid, argv[0], &fa, &attr, (char *const *)(uintptr_t)argv, ffmpeg_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		r->pid = -1;
		goto fail;
	}
	close(out[1]);
	close(err[1]);
	r->out_fd = out[0];
	r->err_fd = err[0];
	fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->err_fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return rc;
}

void ffrun_read(struct ffrun *r, int fd)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		if (fd == r->out_fd) {
			progress_feed(&r->prog, buf, (size_t)n);
		} else {
			/* Keep the tail: the useful error is the last thing ffmpeg says. */
			size_t k = (size_t)n;
			if (k >= sizeof(r->err)) {
				memcpy(r->err, buf + k - sizeof(r->err), sizeof(r->err));
				r->err_len = sizeof(r->err);
			} else {
				if (r->err_len + k > sizeof(r->err)) {
					size_t drop = r->err_len + k - sizeof(r->err);
					memmove(r->err, r->err + drop, r->err_len - drop);
					r->err_len -= drop;
				}
				memcpy(r->err + r->err_len, buf, k);
				r->err_len += k;
			}
		}
	}
	close(fd);
	if (fd == r->out_fd)
		r->out_fd = -1;
	else
		r->err_fd = -1;
}

int ffrun_percent(const struct ffrun *r)
{
	return progress_percent(&r->prog);
}

void ffrun_signal(struct ffrun *r, int sig)
{
	if (r->pid > 0)
		kill(-r->pid, sig);
}

bool ffrun_reap(struct ffrun *r, bool block)
{
	pid_t p;

	if (r->pid <= 0)
		return true;
	do
		p = waitpid(r->pid, &r->status, block ? 0 : WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == r->pid || (p < 0 && errno == ECHILD)) {
		r->pid = -1;
		return true;
	}
	return false;
}

void ffrun_close(struct ffrun *r)
{
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->err_fd >= 0)
		close(r->err_fd);
	r->out_fd = r->err_fd = -1;
	if (r->pid > 0) {
		ffrun_signal(r, SIGKILL);
		(void)ffrun_reap(r, true);
	}
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
