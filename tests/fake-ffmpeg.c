/* fake-ffmpeg.c: a stand-in for the ffmpeg CLI that the render tests steer through a control file. */
#include "config.h"

/*
 * The spawner hands ffmpeg a minimal environment, so the behaviour cannot come from variables set
 * by the test: it comes from "<this program's own path>.mode" (the path from /proc/self/exe, not
 * argv[0]). One "key=value" per line:
 *
 *   mode=ok|slow|fail|crash|hang   ok: progress blocks, then the copy; slow: ok with slow defaults
 *                                  (20 steps of 200 ms); fail: rejects the input like ffmpeg does
 *                                  (stderr line, exit 1); crash: one block, then SIGSEGV; hang: one
 *                                  block, then waits for a signal forever
 *   copy=/abs/real.mp4             on success, copied over the output so ffprobe of it works
 *   duration_us=N                  out_time_us of the last block (default 5000000)
 *   steps=N  step_ms=N             progress blocks and the pause after each (default 4 and 0)
 *   log=/abs/file                  appends "start <output> <unix-ns> <pid> <ppid>" at start and
 *                                  "end <output> <unix-ns> <pid> <how>" at exit (one O_APPEND write
 *                                  each), plus "term <output> <unix-ns> <pid>" for an ignored SIGTERM
 *   ignore_term=1                  SIGTERM is noted in the log and otherwise ignored (SIGKILL needed)
 *   record=/abs/file               overwritten at start with "argv <arg>" lines, "env <NAME>" lines
 *                                  and "fd <n>" for each inherited descriptor above 2
 *
 * Like ffmpeg, the output (the last argument) is created as soon as the run starts, so a killed or
 * crashed run leaves a partial file behind unless the spawner removes it; and a SIGTERM (not
 * ignored) ends the run with a last "progress=end" block and exit status 255, as ffmpeg does, so
 * "progress=end" alone never means success.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum fake_kind { FAKE_OK, FAKE_SLOW, FAKE_FAIL, FAKE_CRASH, FAKE_HANG };

struct fake_mode {
	enum fake_kind kind;
	char copy[PATH_MAX];
	char log[PATH_MAX];
	char record[PATH_MAX];
	long long duration_us;
	long long steps;
	long long step_ms;
	bool steps_set;
	bool step_ms_set;
	bool ignore_term;
};

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Writes all of s to fd; false on an error. */
static bool write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Appends one line to the log named by the mode file, in a single write so runs never interleave. */
static void log_line(const struct fake_mode *m, const char *fmt_what, const char *output, const char *extra)
{
	char line[PATH_MAX + 128];
	int fd, n;

	if (m->log[0] == '\0')
		return;
	n = snprintf(line, sizeof(line), "%s %s %lld %d %s\n", fmt_what, output, now_ns(), (int)getpid(),
	             extra);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)write_all(fd, line, (size_t)n);
	close(fd);
}

static bool parse_ll(const char *v, long long *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < 0)
		return false;
	*out = x;
	return true;
}

/* Reads "<own path>.mode". Returns 0, or -1 after printing why on stderr. */
static int read_mode(struct fake_mode *m)
{
	char self[PATH_MAX], path[PATH_MAX + 8], text[8192];
	ssize_t n;
	size_t len = 0;
	int fd;
	char *line, *next;

	memset(m, 0, sizeof(*m));
	m->kind = FAKE_OK;
	m->duration_us = 5000000;
	m->steps = 4;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "fake-ffmpeg: cannot read /proc/self/exe\n");
		return -1;
	}
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s.mode", self);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fake-ffmpeg: no control file %s\n", path);
		return -1;
	}
	while (len < sizeof(text) - 1) {
		n = read(fd, text + len, sizeof(text) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	for (line = text; line != NULL && *line != '\0'; line = next) {
		char *eq, *key, *val;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		key = line;
		val = eq + 1;
		if (strcmp(key, "mode") == 0) {
			if (strcmp(val, "ok") == 0)
				m->kind = FAKE_OK;
			else if (strcmp(val, "slow") == 0)
				m->kind = FAKE_SLOW;
			else if (strcmp(val, "fail") == 0)
				m->kind = FAKE_FAIL;
			else if (strcmp(val, "crash") == 0)
				m->kind = FAKE_CRASH;
			else if (strcmp(val, "hang") == 0)
				m->kind = FAKE_HANG;
			else
				goto bad;
		} else if (strcmp(key, "copy") == 0) {
			snprintf(m->copy, sizeof(m->copy), "%s", val);
		} else if (strcmp(key, "log") == 0) {
			snprintf(m->log, sizeof(m->log), "%s", val);
		} else if (strcmp(key, "record") == 0) {
			snprintf(m->record, sizeof(m->record), "%s", val);
		} else if (strcmp(key, "duration_us") == 0) {
			if (!parse_ll(val, &m->duration_us))
				goto bad;
		} else if (strcmp(key, "steps") == 0) {
			if (!parse_ll(val, &m->steps) || m->steps < 1)
				goto bad;
			m->steps_set = true;
		} else if (strcmp(key, "step_ms") == 0) {
			if (!parse_ll(val, &m->step_ms))
				goto bad;
			m->step_ms_set = true;
		} else if (strcmp(key, "ignore_term") == 0) {
			m->ignore_term = strcmp(val, "1") == 0;
		} else {
			goto bad;
		}
		continue;
bad:
		fprintf(stderr, "fake-ffmpeg: bad line in %s: %s=%s\n", path, key, val);
		return -1;
	}
	if (m->kind == FAKE_SLOW) {
		if (!m->steps_set)
			m->steps = 20;
		if (!m->step_ms_set)
			m->step_ms = 200;
	}
	return 0;
}

/* Overwrites the record file with this run's argv, environment names and inherited descriptors. */
static void record_run(const struct fake_mode *m, int argc, char **argv)
{
	FILE *f;
	DIR *d;
	struct dirent *de;

	if (m->record[0] == '\0')
		return;
	/* Listed before fopen, so the record's own descriptor is not counted. */
	d = opendir("/proc/self/fd");
	f = fopen(m->record, "we");
	if (f == NULL) {
		if (d != NULL)
			closedir(d);
		return;
	}
	for (int i = 0; i < argc; i++)
		fprintf(f, "argv %s\n", argv[i]);
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		fprintf(f, "env %.*s\n", eq ? (int)(eq - *e) : (int)strlen(*e), *e);
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (end == de->d_name || *end != '\0' || fd <= 2 || fd == dirfd(d) || fd == fileno(f))
			continue;
		fprintf(f, "fd %ld\n", fd);
	}
	if (d != NULL)
		closedir(d);
	fclose(f);
}

/* One "-progress" block at out_time t microseconds, closed by progress=<state>. */
static void progress_block(long long frame, long long t, const char *state)
{
	char b[512];
	int n;

	n = snprintf(b, sizeof(b),
	             "frame=%lld\nfps=25.00\nstream_0_0_q=28.0\nbitrate=N/A\ntotal_size=%lld\n"
	             "out_time_us=%lld\nout_time_ms=%lld\nout_time=%02lld:%02lld:%02lld.%06lld\n"
	             "dup_frames=0\ndrop_frames=0\nspeed=1.00x\nprogress=%s\n",
	             frame, frame * 1000, t, t, t / 3600000000LL, t / 60000000LL % 60, t / 1000000LL % 60,
	             t % 1000000LL, state);
	if (n > 0 && (size_t)n < sizeof(b))
		(void)write_all(1, b, (size_t)n);
}

/* Sleeps ms milliseconds in small slices; returns early (true) when a SIGTERM is to be obeyed. */
static bool nap(const struct fake_mode *m, const char *output, long long ms)
{
	struct timespec slice = { 0, 10 * 1000 * 1000 };

	for (long long left = ms; left > 0 || ms < 0; left -= 10) {
		if (got_term) {
			if (!m->ignore_term)
				return true;
			got_term = 0;
			log_line(m, "term", output, "");
		}
		nanosleep(&slice, NULL);
	}
	return got_term && !m->ignore_term;
}

/* Creates the output at once, as ffmpeg does once the inputs are open. */
static void start_output(const char *output)
{
	int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		(void)write_all(fd, "partial output of fake-ffmpeg\n", 30);
		close(fd);
	}
}

/* Copies src over dst. Returns 0 or -1. */
static int copy_file(const char *src, const char *dst)
{
	char b[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	ssize_t n;

	if (in < 0)
		goto out;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		goto out;
	for (;;) {
		n = read(in, b, sizeof(b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (!write_all(out, b, (size_t)n))
			goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		rc = -1;
	return rc;
}

/* Ends a run stopped by SIGTERM the way ffmpeg does. */
static int terminated(const struct fake_mode *m, const char *output, long long frame, long long t)
{
	progress_block(frame, t, "end");
	fprintf(stderr, "Exiting normally, received signal 15.\n");
	log_line(m, "end", output, "term");
	return 255;
}

int main(int argc, char **argv)
{
	struct fake_mode m;
	struct sigaction sa;
	const char *output, *input = NULL;
	char ppid[32];
	long long i, t = 0;

	if (read_mode(&m) != 0)
		return 1;
	if (argc < 2) {
		fprintf(stderr, "fake-ffmpeg: no output file\n");
		return 1;
	}
	output = argv[argc - 1];
	for (int k = 1; k + 1 < argc; k++)
		if (strcmp(argv[k], "-i") == 0)
			input = argv[k + 1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	record_run(&m, argc, argv);
	snprintf(ppid, sizeof(ppid), "%d", (int)getppid());
	log_line(&m, "start", output, ppid);

	if (m.kind == FAKE_FAIL) {
		fprintf(stderr, "%s: Invalid data found when processing input\n", input ? input : "file:?");
		fprintf(stderr, "file:/some/abs/path/in.png: Invalid data found when processing input\n");
		log_line(&m, "end", output, "fail");
		return 1;
	}
	start_output(output);
	if (m.kind == FAKE_CRASH || m.kind == FAKE_HANG) {
		progress_block(1, m.duration_us / 10, "continue");
		if (m.kind == FAKE_CRASH) {
			struct rlimit no_core = { 0, 0 };

			setrlimit(RLIMIT_CORE, &no_core);
			log_line(&m, "end", output, "crash");
			signal(SIGSEGV, SIG_DFL);
			raise(SIGSEGV);
			return 139;
		}
		if (nap(&m, output, -1))
			return terminated(&m, output, 1, m.duration_us / 10);
		return 0;
	}
	for (i = 1; i <= m.steps; i++) {
		t = m.duration_us * i / m.steps;
		progress_block(i, t, "continue");
		if (nap(&m, output, m.step_ms))
			return terminated(&m, output, i, t);
	}
	if (m.copy[0] != '\0' && copy_file(m.copy, output) != 0) {
		fprintf(stderr, "fake-ffmpeg: cannot copy %s to the output: %s\n", m.copy, strerror(errno));
		log_line(&m, "end", output, "copy-failed");
		return 1;
	}
	progress_block(m.steps, t, "end");
	log_line(&m, "end", output, "ok");
	return 0;
}
