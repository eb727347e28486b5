/* media-spawner.c: claims render jobs from PostgreSQL and runs ffmpeg for them, N at a time.
 * One thread, one poll loop: a signalfd, the LISTEN connection, and each ffmpeg's two pipes. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "media/probe.h"
#include "render/ffmpeg.h"
#include "render/presets.h"
#include "render/queue.h"
#include "store/db.h"
#include "store/files.h"
#include "store/media.h"

#define MAX_SLOTS 64
#define KILL_AFTER_S 1.5 /* SIGTERM, then SIGKILL this much later */
#define BEAT_S 1.0       /* progress + lease renewal at most this often */

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_LOST, STOP_TIMEOUT, STOP_SHUTDOWN };

struct slot {
	bool busy;
	struct claimed_job job;
	struct ffrun run;
	char tmp[FILES_PATH_MAX];
	double deadline, next_beat, kill_at;
	enum stop_reason stop;
};

struct spawner {
	const struct config *cfg;
	struct db *db;
	PGconn *listen;
	char owner[128];
	int concurrency;
	bool once;
	bool stopping;
	bool wake;   /* claim now: a job was announced or a slot came free */
	bool failed; /* --once could not reach the database: exit non-zero so cron notices */
	double stop_deadline;
	struct slot slots[MAX_SLOTS];
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* (Re)opens the LISTEN connection. Polling covers for it while it is down. */
static void listen_ensure(struct spawner *s)
{
	char timeout[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { s->cfg->database_url, timeout, "media-spawner", NULL };
	PGresult *r;

	if (s->listen != NULL && PQstatus(s->listen) == CONNECTION_OK)
		return;
	if (s->listen != NULL)
		PQfinish(s->listen);
	snprintf(timeout, sizeof(timeout), "%lld", s->cfg->db_connect_timeout);
	s->listen = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(s->listen) != CONNECTION_OK) {
		PQfinish(s->listen);
		s->listen = NULL;
		return;
	}
	r = PQexec(s->listen, "LISTEN render_jobs; LISTEN render_cancel");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQfinish(s->listen);
		s->listen = NULL;
	}
	PQclear(r);
}

static int running(const struct spawner *s)
{
	int i, n = 0;

	for (i = 0; i < s->concurrency; i++)
		n += s->slots[i].busy;
	return n;
}

static void slot_stop(struct slot *sl, enum stop_reason why, double now)
{
	if (sl->stop != STOP_NONE)
		return;
	sl->stop = why;
	ffrun_signal(&sl->run, SIGTERM);
	sl->kill_at = now + KILL_AFTER_S;
}

/* Starts ffmpeg for a claimed job. On failure the job is failed (or released) and the slot stays free. */
static void slot_start(struct spawner *s, struct slot *sl, const struct claimed_job *claimed)
{
	const struct claimed_job *j = &sl->job;
	const struct preset *p = preset_find(claimed->preset);
	const char *argv[PRESET_MAX_ARGS];
	char in[FILES_PATH_MAX], scratch[2 * FILES_PATH_MAX + 64];
	int64_t total_us = 0;
	bool lost;
	int rc;

	memset(sl, 0, sizeof(*sl));
	sl->job = *claimed;
	/* The input comes from our own row and is re-checked against the media root's name rules. */
	if (p == NULL || !files_abs(s->cfg->media_root, j->input_path, in, sizeof(in))) {
		(void)queue_fail(s->db, j, p == NULL ? "unknown preset" : "the input file is not valid",
		                 false, &lost);
		return;
	}
	/* From claimed, not sl->job: the compiler cannot prove two members of *sl do not overlap. */
	snprintf(sl->tmp, sizeof(sl->tmp), "%s/outputs/.tmp-%s-a%d.%s", s->cfg->media_root, claimed->id,
	         claimed->attempt, preset_ext(p));
	if (preset_argv(p, s->cfg->ffmpeg_path, in, j->input_kind, j->input_duration_ms, sl->tmp, argv,
	                scratch, sizeof(scratch), &total_us) < 0) {
		(void)queue_fail(s->db, j, "this preset cannot render that input", false, &lost);
		return;
	}
	rc = ffrun_start(&sl->run, argv, total_us);
	if (rc != 0) {
		log_error("job %s: cannot start %s: %s", j->id, s->cfg->ffmpeg_path, strerror(rc));
		(void)queue_fail(s->db, j, "the renderer could not be started", true, &lost);
		return;
	}
	sl->busy = true;
	sl->deadline = now_s() + (double)s->cfg->render_timeout;
	sl->next_beat = now_s() + BEAT_S;
	log_info("job %s: attempt %d: %s of %s started (ffmpeg %ld)", j->id, j->attempt, j->preset,
	         j->input_path, (long)sl->run.pid);
}

static void claim_ready(struct spawner *s)
{
	int i;

	if (queue_reap_expired(s->db) > 0)
		log_info("returned jobs whose spawner died to the queue");
	for (i = 0; i < s->concurrency && !s->stopping; i++) {
		struct claimed_job j;
		enum merr err;

		if (s->slots[i].busy)
			continue;
		err = queue_claim(s->db, s->owner, s->cfg->render_lease, (int)s->cfg->render_max_attempts,
		                  &j);
		if (err != MERR_OK) {
			if (err != MERR_NOT_FOUND) {
				log_error("claim: %s", merr_code(err));
				s->failed = true;
			}
			return;
		}
		slot_start(s, &s->slots[i], &j);
		if (!s->slots[i].busy)
			i--; /* that job failed at once: the slot is still free, try the next job */
	}
}

/* ffmpeg exited with 0: probe the output, rename it into place, record the media row. */
static void finish_success(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	const struct preset *p = preset_find(j->preset);
	struct probe_result pr;
	struct tmpfile t;
	struct media m;
	struct stat st;
	char why[256];
	bool lost = false;

	if (stat(sl->tmp, &st) != 0 || st.st_size == 0 ||
	    probe_file(s->cfg->ffprobe_path, sl->tmp, (int)s->cfg->ffprobe_timeout, &pr, why, sizeof(why)) !=
	            0) {
		unlink(sl->tmp);
		(void)queue_fail(s->db, j, "ffmpeg produced no usable output", false, &lost);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.user_id = j->user_id;
	m.project_id = j->project_id;
	snprintf(m.title, sizeof(m.title), "%s render of %s", j->preset, j->input_path);
	snprintf(m.kind, sizeof(m.kind), "%s", p != NULL ? preset_output_kind(p) : "video");
	snprintf(m.mime, sizeof(m.mime), "%s", pr.mime);
	snprintf(m.path, sizeof(m.path), "%s", j->output_path);
	snprintf(m.video_codec, sizeof(m.video_codec), "%s", pr.video_codec);
	snprintf(m.audio_codec, sizeof(m.audio_codec), "%s", pr.audio_codec);
	m.size_bytes = (int64_t)st.st_size;
	m.duration_ms = pr.duration_ms;
	m.width = pr.width;
	m.height = pr.height;
	tmpfile_init(&t);
	snprintf(t.path, sizeof(t.path), "%s", sl->tmp);
	if (tmpfile_commit(&t, s->cfg->media_root, j->output_path) != 0) {
		tmpfile_discard(&t);
		(void)queue_fail(s->db, j, "the output could not be stored", true, &lost);
		return;
	}
	if (queue_complete(s->db, j, &m, &lost) != MERR_OK || lost) {
		/* Not ours any more (cancelled, or re-claimed after our lease ran out), or the database
		 * failed: the output goes; the job's current owner or a later attempt makes its own. */
		(void)files_remove(s->cfg->media_root, j->output_path);
		log_info("job %s: attempt %d finished but %s", j->id, j->attempt,
		         lost ? "no longer owns the job" : "could not be recorded");
		return;
	}
	log_info("job %s: completed -> %s", j->id, j->output_path);
}

static void slot_finish(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	char reason[FFRUN_REASON_MAX + 1];
	int st = sl->run.status;
	bool lost = false;

	ffrun_close(&sl->run);
	if (sl->stop != STOP_NONE || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		unlink(sl->tmp);
	switch (sl->stop) {
	case STOP_LOST:
		log_info("job %s: attempt %d lost its lease; stopped", j->id, j->attempt);
		break;
	case STOP_CANCEL:
		(void)queue_cancelled(s->db, j);
		log_info("job %s: cancelled", j->id);
		break;
	case STOP_SHUTDOWN:
		(void)queue_release(s->db, j);
		log_info("job %s: released for another spawner", j->id);
		break;
	case STOP_TIMEOUT:
		snprintf(reason, sizeof(reason), "timed out after %lld s", s->cfg->render_timeout);
		(void)queue_fail(s->db, j, reason, true, &lost);
		log_info("job %s: %s", j->id, reason);
		break;
	case STOP_NONE:
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			finish_success(s, sl);
		} else if (WIFEXITED(st)) {
			/* ffmpeg ran and refused: the same input would fail again, so no retry. */
			if (ffmpeg_reason(sl->run.err, sl->run.err_len, s->cfg->media_root, reason,
			                  sizeof(reason)) == 0)
				snprintf(reason, sizeof(reason), "ffmpeg failed with exit code %d",
				         WEXITSTATUS(st));
			(void)queue_fail(s->db, j, reason, false, &lost);
			log_info("job %s: failed: %s", j->id, reason);
		} else {
			snprintf(reason, sizeof(reason), "ffmpeg was killed by signal %d", WTERMSIG(st));
			(void)queue_fail(s->db, j, reason, true, &lost);
			log_info("job %s: attempt %d: %s", j->id, j->attempt, reason);
		}
		break;
	}
	sl->busy = false;
	s->wake = true;
}

static void on_notify(struct spawner *s, double now)
{
	PGnotify *n;
	int i;

	if (s->listen == NULL)
		return;
	if (!PQconsumeInput(s->listen)) {
		PQfinish(s->listen);
		s->listen = NULL;
		return;
	}
	while ((n = PQnotifies(s->listen)) != NULL) {
		if (strcmp(n->relname, "render_jobs") == 0)
			s->wake = true;
		else if (strcmp(n->relname, "render_cancel") == 0)
			for (i = 0; i < s->concurrency; i++)
				if (s->slots[i].busy && strcmp(s->slots[i].job.id, n->extra) == 0)
					slot_stop(&s->slots[i], STOP_CANCEL, now);
		PQfreemem(n);
	}
}

/* Timeouts, kill escalation, heartbeats, reaping: everything a slot needs each turn. */
static void slot_tick(struct spawner *s, struct slot *sl, double now)
{
	bool cancel = false, lost = false;

	if (sl->stop == STOP_NONE && now >= sl->deadline)
		slot_stop(sl, STOP_TIMEOUT, now);
	if (sl->stop != STOP_NONE && sl->kill_at > 0 && now >= sl->kill_at) {
		ffrun_signal(&sl->run, SIGKILL);
		sl->kill_at = 0;
	}
	if (sl->stop == STOP_NONE && now >= sl->next_beat) {
		sl->next_beat = now + BEAT_S;
		if (queue_heartbeat(s->db, &sl->job,
		                    ffrun_percent(&sl->run) >= 100 ? 99 : ffrun_percent(&sl->run),
		                    s->cfg->render_lease, &cancel, &lost) == MERR_OK) {
			if (lost)
				slot_stop(sl, STOP_LOST, now);
			else if (cancel)
				slot_stop(sl, STOP_CANCEL, now);
		}
	}
	if (ffrun_reap(&sl->run, false)) {
		/* Drain what the pipes still hold before judging the outcome. */
		if (sl->run.out_fd >= 0)
			ffrun_read(&sl->run, sl->run.out_fd);
		if (sl->run.err_fd >= 0)
			ffrun_read(&sl->run, sl->run.err_fd);
		slot_finish(s, sl);
	}
}

static int run(struct spawner *s)
{
	struct pollfd pfd[2 + 2 * MAX_SLOTS];
	struct slot *owner[2 + 2 * MAX_SLOTS];
	sigset_t set;
	int sfd, i;
	double next_poll = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		double now = now_s(), until;
		int n = 0, timeout_ms;

		if (!s->once)
			listen_ensure(s);
		if (!s->stopping && (s->wake || now >= next_poll)) {
			s->wake = false;
			next_poll = now + (double)s->cfg->render_poll_interval;
			claim_ready(s);
			if (s->once && running(s) == 0)
				break; /* --once: nothing ready and nothing running */
		}
		if (s->stopping && running(s) == 0)
			break;
		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		owner[n++] = NULL;
		if (s->listen != NULL) {
			pfd[n].fd = PQsocket(s->listen);
			pfd[n].events = POLLIN;
			owner[n++] = NULL;
		}
		until = s->stopping ? s->stop_deadline : next_poll;
		for (i = 0; i < s->concurrency; i++) {
			struct slot *sl = &s->slots[i];

			if (!sl->busy)
				continue;
			if (sl->run.out_fd >= 0) {
				pfd[n].fd = sl->run.out_fd;
				pfd[n].events = POLLIN;
				owner[n++] = sl;
			}
			if (sl->run.err_fd >= 0) {
				pfd[n].fd = sl->run.err_fd;
				pfd[n].events = POLLIN;
				owner[n++] = sl;
			}
			if (sl->next_beat < until)
				until = sl->next_beat;
			if (sl->deadline < until)
				until = sl->deadline;
			if (sl->kill_at > 0 && sl->kill_at < until)
				until = sl->kill_at;
		}
		timeout_ms = until <= now ? 0 : (int)((until - now) * 1000.0) + 1;
		if (timeout_ms > 1000)
			timeout_ms = 1000; /* a child that exits with its pipes held open by a grandchild */
		if (poll(pfd, (nfds_t)n, timeout_ms) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			close(sfd);
			return 1;
		}
		now = now_s();
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) &&
					    !s->stopping) {
						s->stopping = true;
						s->stop_deadline = now + (double)s->cfg->render_grace;
						log_info("stopping: %d running job(s) get %lld s to finish",
						         running(s), s->cfg->render_grace);
					}
			} else if (owner[i] == NULL) {
				on_notify(s, now);
			} else {
				ffrun_read(&owner[i]->run, pfd[i].fd);
			}
		}
		for (i = 0; i < s->concurrency; i++) {
			struct slot *sl = &s->slots[i];

			if (!sl->busy)
				continue;
			if (s->stopping && now >= s->stop_deadline)
				slot_stop(sl, STOP_SHUTDOWN, now);
			slot_tick(s, sl, now);
		}
	}
	close(sfd);
	return s->once && s->failed ? 1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: media-spawner [--once] [--concurrency N] [--name NAME]\n"
	             "  --once           claim what is ready, run it, exit (for cron)\n"
	             "  --concurrency N  ffmpeg processes at once (default: render_concurrency, else cores)\n"
	             "  --name NAME      this spawner's name in job leases (default host:pid)\n"
	             "Settings come from $MEDIAD_CONFIG (default " MEDIAD_SYSCONFDIR "/mediad.conf) and the "
	             "environment; see media-spawner(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct spawner s = { .wake = true };
	struct config cfg;
	char err[512], host[64], *end;
	const char *name = NULL;
	long conc = -1;
	int c, rc = 1;

	log_init("media-spawner");
	while ((c = getopt_long(argc, argv, "oc:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			s.once = true;
			break;
		case 'c':
			errno = 0;
			conc = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || conc < 1 || conc > MAX_SLOTS) {
				fprintf(stderr, "media-spawner: --concurrency must be 1 to %d\n", MAX_SLOTS);
				return 2;
			}
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (config_load(&cfg, CONFIG_NEED_DB | CONFIG_NEED_MEDIA, err, sizeof(err)) != 0) {
		fprintf(stderr, "media-spawner: configuration: %s\n", err);
		config_free(&cfg);
		return 78;
	}
	s.cfg = &cfg;
	{
		const char *dirs[] = { "", "/uploads", "/outputs" };
		char d[FILES_PATH_MAX];

		for (c = 0; c < 3; c++) {
			snprintf(d, sizeof(d), "%s%s", cfg.media_root, dirs[c]);
			if (mkdir(d, 0750) != 0 && errno != EEXIST) {
				fprintf(stderr, "media-spawner: media_root: cannot create %.300s: %s\n", d,
				        strerror(errno));
				config_free(&cfg);
				return 78;
			}
		}
	}
	if (conc < 0)
		conc = cfg.render_concurrency > 0 ? cfg.render_concurrency : sysconf(_SC_NPROCESSORS_ONLN);
	s.concurrency = (int)(conc < 1 ? 1 : conc > MAX_SLOTS ? MAX_SLOTS : conc);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (name != NULL)
		snprintf(s.owner, sizeof(s.owner), "%.120s", name);
	else
		snprintf(s.owner, sizeof(s.owner), "%.60s:%ld", host, (long)getpid());
	s.db = db_new(cfg.database_url, (int)cfg.db_connect_timeout, queue_statements,
	              queue_statements_count);
	if (s.db == NULL)
		goto out;
	log_info("%s: %d slot(s)%s", s.owner, s.concurrency, s.once ? ", once" : "");
	rc = run(&s);
out:
	for (c = 0; c < s.concurrency; c++)
		if (s.slots[c].busy)
			ffrun_close(&s.slots[c].run);
	if (s.listen != NULL)
		PQfinish(s.listen);
	db_free(s.db);
	config_free(&cfg);
	return rc;
}
