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
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/child.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "media/probe.h"
#include "render/ffmpeg.h"
#include "render/presets.h"
#include "render/queue.h"
#include "render/rendition.h"
#include "store/db.h"
#include "store/files.h"
#include "store/listen.h"
#include "store/media.h"

#define MAX_SLOTS 64
#define KILL_AFTER_S 1.5      /* SIGTERM, then SIGKILL this much later */
#define BEAT_S 1.0            /* progress + lease renewal at most this often */
#define SPAWNER_BEAT_S 10.0   /* the spawners row (mediactl status) at least this often */
#define DB_PAUSE_S 1.0        /* after a failed database call, no other one for this long */
#define FAULT_BACKOFF_MAX 60. /* longest pause between claims while the spawner itself is at fault */
#define EXIT_AFTER_S 5.0      /* after SIGTERM: past grace + kill + this, exit whatever the database does */

/*
 * Local lease margin: an attempt whose lease could not be renewed stops its ffmpeg this long before
 * the lease runs out in the database (counted from when the last renewal was sent, which is before
 * the server stamped it), so it is gone, SIGKILL included, before another spawner may reap the job.
 */
#define LEASE_MARGIN_S (KILL_AFTER_S + 2.0)

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_LOST, STOP_LEASE, STOP_TIMEOUT, STOP_SHUTDOWN };
enum phase { PH_RENDER, PH_PROBE, PH_FINISH };

struct slot {
	bool busy;
	enum phase phase;
	struct claimed_job job;
	struct ffrun run;         /* PH_RENDER */
	struct child probe;       /* ffprobe of the output: started with ffmpeg, fed in PH_PROBE */
	struct probe_cmd pcmd;    /* its argv */
	struct media m;           /* PH_FINISH: the row to record */
	char tmp[FILES_PATH_MAX]; /* the attempt's temp output: a file, or a folder for a rendition */
	/* A rendition job (hls, poster, storyboard): its plan, its input, its argv and what it made. */
	enum rend_kind rend;
	struct rend_plan plan;
	struct rend_input rin;
	char in_abs[FILES_PATH_MAX];
	struct rend_argv ra;
	struct rend_result result;
	bool fed;         /* the output went to the early ffprobe's stdin (slot_output) */
	bool placed;      /* the output was renamed to output_path under our row lock; tmp is gone */
	bool ask_outcome; /* a COMMIT's reply was lost: read the row before anything else */
	double deadline;  /* render_timeout */
	double next_beat;
	double lease_ok_until; /* the local lease */
	double kill_at;
	enum stop_reason stop;
	/* Where the attempt's time went, for the completion log line: claimed, ffmpeg reaped, probed. */
	double t_claimed, t_rendered, t_probed;
};

struct spawner {
	const struct config *cfg;
	struct db *db;
	struct pg_listen listen; /* LISTEN render_jobs, render_cancel */
	char owner[128];
	char host[64];
	int concurrency;
	bool once;
	bool stopping;
	bool wake;   /* claim now: a job was announced or a slot came free */
	bool failed; /* --once met a fault (no database, ffmpeg missing, disk full): exit non-zero */
	double stop_deadline;
	double db_pause_until; /* the circuit breaker: see db_usable */
	/* A fault of the spawner's own, not of any job: no claims until fault_until. */
	char fault[256];
	double fault_until, fault_backoff;
	double next_spawner_beat;
	struct slot slots[MAX_SLOTS];
};

/*
 * The loop's bound on PostgreSQL: every call is bounded by the statement timeout (db.c), and after
 * one fails for want of the server, the others wait DB_PAUSE_S, so one turn of the loop (signals,
 * render timeouts, kills) never waits on more than one slow call.
 */
static bool db_usable(const struct spawner *s)
{
	return clock_mono_s() >= s->db_pause_until;
}

static enum merr db_note(struct spawner *s, enum merr err)
{
	if (err == MERR_UNAVAILABLE) {
		s->db_pause_until = clock_mono_s() + DB_PAUSE_S;
		if (s->once)
			s->failed = true;
	}
	return err;
}

/* After an error line that leaves something undone (a write not recorded, a file not removed):
 * a --once run then exits non-zero, that line its one line on stderr (log_once_fail). */
static void once_fail(struct spawner *s)
{
	if (!s->once)
		return;
	s->failed = true;
	log_once_fail();
}

/*
 * For an outcome write whose failure the spawner cannot repair (release, fail, cancel,
 * interrupted): logs it with the job, so nothing fails silently, then notes it like db_note. What
 * then happens to the job: its lease runs out and the reaper returns it, uncharged.
 */
static void db_drop(struct spawner *s, const struct claimed_job *j, const char *what, enum merr err)
{
	if (err != MERR_OK) {
		log_error(
		        "job %s: %s could not be recorded (%s); its lease will run out and it goes back to the "
		        "queue",
		        j->id, what, merr_code(err));
		once_fail(s);
	}
	(void)db_note(s, err);
}

/* Records a fault of the spawner itself (not of a job): logged once per distinct message, shown by
 * mediactl status, and claims pause with a growing backoff. */
static void spawner_fault(struct spawner *s, const char *msg)
{
	double now = clock_mono_s();

	if (strcmp(s->fault, msg) != 0) {
		log_error("spawner fault: %s; jobs are left waiting until it is fixed", msg);
		once_fail(s);
		snprintf(s->fault, sizeof(s->fault), "%s", msg);
		s->fault_backoff = 1.0;
		s->next_spawner_beat = 0; /* tell mediactl status now */
	} else {
		s->fault_backoff =
		        s->fault_backoff * 2 > FAULT_BACKOFF_MAX ? FAULT_BACKOFF_MAX : s->fault_backoff * 2;
	}
	s->fault_until = now + s->fault_backoff;
	s->failed = true;
}

static void spawner_fault_clear(struct spawner *s)
{
	if (s->fault[0] == '\0')
		return;
	log_info("spawner fault cleared (%s)", s->fault);
	s->fault[0] = '\0';
	s->fault_until = 0;
	s->next_spawner_beat = 0;
}

static int running(const struct spawner *s)
{
	int i, n = 0;

	for (i = 0; i < s->concurrency; i++)
		n += s->slots[i].busy;
	return n;
}

/* The spawners row: who we are, how busy, and the fault if any. */
static void spawner_beat(struct spawner *s, double now)
{
	struct spawner_beat b = {
		.name = s->owner,
		.host = s->host,
		.pid = (long)getpid(),
		.slots = s->concurrency,
		.running = running(s),
		.last_error = s->fault[0] ? s->fault : NULL,
	};

	if (now < s->next_spawner_beat || !db_usable(s))
		return;
	if (db_note(s, queue_spawner_beat(s->db, &b)) == MERR_OK)
		s->next_spawner_beat = now + SPAWNER_BEAT_S;
}

static void slot_stop(struct slot *sl, enum stop_reason why, double now)
{
	if (sl->stop != STOP_NONE)
		return;
	sl->stop = why;
	if (sl->phase == PH_RENDER) {
		ffrun_signal(&sl->run, SIGTERM);
		sl->kill_at = now + KILL_AFTER_S;
	} else if (sl->phase == PH_PROBE) {
		child_signal(&sl->probe, SIGKILL);
	}
}

/* An idle slot: no child, no descriptor (closing one is a no-op). */
static void slot_reset(struct slot *sl)
{
	memset(sl, 0, sizeof(*sl));
	sl->run.pid = -1;
	sl->run.out_fd = sl->run.err_fd = -1;
	child_init(&sl->run.ch);
	child_init(&sl->probe);
	buf_init(&sl->pcmd.input);
	buf_init(&sl->pcmd.abspath);
}

/*
 * Starts the ffprobe of the output beside ffmpeg: it loads its libraries (most of its run time on
 * a short render) while ffmpeg works, then waits on its stdin for the output (slot_output).
 * Best effort: when it cannot start, the output is probed the usual way once it exists.
 */
static void slot_probe_early(const struct spawner *s, struct slot *sl)
{
	char why[256];

	if (probe_cmd_build_stdin(&sl->pcmd, s->cfg->ffprobe_path, (int)s->cfg->ffprobe_timeout, why,
	                          sizeof(why)) != 0 ||
	    child_start(&sl->probe, sl->pcmd.argv, &sl->pcmd.opts) != 0) {
		probe_cmd_free(&sl->pcmd);
		child_init(&sl->probe);
	}
}

/* Starts ffprobe on the finished output, watched by the loop like ffmpeg. Returns 0, -1 when the
 * file is unusable, -2 when ffprobe could not be set up or started (the spawner's fault). */
static int slot_probe_start(const struct spawner *s, struct slot *sl, char *why, size_t whylen)
{
	int rc = probe_cmd_build(&sl->pcmd, s->cfg->ffprobe_path, sl->tmp, (int)s->cfg->ffprobe_timeout, why,
	                         whylen);

	if (rc != 0)
		return rc;
	rc = child_start(&sl->probe, sl->pcmd.argv, &sl->pcmd.opts);
	if (rc != 0) {
		snprintf(why, whylen, "ffprobe_path %.150s cannot be run: %s", s->cfg->ffprobe_path,
		         strerror(rc));
		return -2;
	}
	return 0;
}

/* Removes an output of the slot's job: a file, or a rendition's folder with what it holds. A file
 * left behind fails a --once run (mediactl gc removes it later). */
static void out_remove(struct spawner *s, const struct slot *sl, const char *path)
{
	int e = 0;

	if (sl->rend != REND_NONE)
		e = files_remove_tree(path);
	else if (unlink(path) != 0 && errno != ENOENT)
		e = errno;
	if (e != 0) {
		log_error("job %s: cannot remove %s: %s", sl->job.id, path, strerror(e));
		once_fail(s);
	}
}

/* Frees the slot: the child is gone, the temp output removed unless it became the output. */
static void slot_free(struct spawner *s, struct slot *sl)
{
	/* The temp output first: the job's state is already written, and whoever reads it may look
	 * for leftovers at once; closing the children (a kill and a wait) comes after. */
	if (!sl->placed && sl->tmp[0] != '\0')
		out_remove(s, sl, sl->tmp);
	sl->tmp[0] = '\0';
	ffrun_close(&sl->run);
	child_close(&sl->probe);
	probe_cmd_free(&sl->pcmd);
	sl->busy = false;
	s->wake = true;
}

/* The job goes back untouched because the spawner is at fault (msg says how). */
static void slot_env_fault(struct spawner *s, struct slot *sl, const char *msg)
{
	spawner_fault(s, msg);
	if (db_usable(s))
		db_drop(s, &sl->job, "release", queue_release(s->db, &sl->job));
	log_info("job %s: released, not charged (%s)", sl->job.id, msg);
	slot_free(s, sl);
}

/* Why the media root cannot take a render now ("" when it can): too little free space, or no
 * right to create a file in outputs/. */
static bool media_root_fault(const struct spawner *s, char *msg, size_t len)
{
	char dir[FILES_PATH_MAX], probe[FILES_PATH_MAX + 64];
	struct statvfs v;
	int fd;

	snprintf(dir, sizeof(dir), "%s/outputs", s->cfg->media_root);
	if (statvfs(dir, &v) != 0) {
		snprintf(msg, len, "cannot use the media root's outputs folder: %s", strerror(errno));
		return true;
	}
	if ((unsigned long long)v.f_bavail * v.f_frsize < (unsigned long long)s->cfg->render_min_free_mb
	                                                          << 20) {
		snprintf(msg, len,
		         "the media root has %llu MiB free, less than render_min_free_mb (%lld): disk full",
		         (unsigned long long)v.f_bavail * v.f_frsize >> 20, s->cfg->render_min_free_mb);
		return true;
	}
	snprintf(probe, sizeof(probe), "%s/.tmp-check-%ld", dir, (long)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno != EEXIST) {
		snprintf(msg, len, "cannot create files in the media root's outputs folder: %s",
		         strerror(errno));
		return true;
	}
	if (fd >= 0)
		close(fd);
	unlink(probe);
	return false;
}

/* Whether ffmpeg's failure is the machine's, not the job's: the disk filled or the media root
 * refused a write. Then msg says so. */
static bool render_env_fault(const struct spawner *s, const struct slot *sl, char *msg, size_t len)
{
	static const char *const signs[] = { "No space left on device", "Disk quota exceeded",
		                             "Read-only file system" };
	size_t i;

	for (i = 0; i < sizeof(signs) / sizeof(signs[0]); i++)
		if (memmem(sl->run.err, sl->run.err_len, signs[i], strlen(signs[i])) != NULL) {
			snprintf(msg, len, "rendering into the media root failed: %s", signs[i]);
			return true;
		}
	return media_root_fault(s, msg, len);
}

/* Starts ffmpeg for the slot's rendition plan (again, for a poster's plain retry). Returns 0, or -1
 * when the slot was freed (the job failed or was released). */
static int rend_run(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	int64_t total_us = 0;
	char msg[256];
	bool lost;
	int rc;

	if (rend_argv(&sl->plan, &sl->rin, s->cfg->ffmpeg_path, sl->tmp, &sl->ra, &total_us) != 0) {
		db_drop(s, j, "fail",
		        queue_fail(s->db, j, "the render's command line does not fit", false, &lost));
		slot_free(s, sl);
		return -1;
	}
	rc = ffrun_start(&sl->run, sl->ra.argv, total_us);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "ffmpeg_path %.150s cannot be run: %s", s->cfg->ffmpeg_path,
		         strerror(rc));
		slot_env_fault(s, sl, msg);
		return -1;
	}
	sl->phase = PH_RENDER;
	log_info("job %s: attempt %d (claim %lld): %s%s of %s started (ffmpeg %ld)", j->id, j->attempt,
	         j->fence, j->preset, sl->plan.poster_plain ? " (without the black-frame filter)" : "",
	         j->input_path, (long)sl->run.pid);
	return 0;
}

/*
 * Starts a rendition job: its plan from the input's row, a temp folder of this attempt's own
 * (outputs/.tmp-<job>-a<fence>, renamed to output_path once complete), then ffmpeg. No ffprobe
 * afterwards: rend_finish reads back what ffmpeg wrote.
 */
static void rend_start(struct spawner *s, struct slot *sl, const struct claimed_job *claimed, const char *in)
{
	const struct claimed_job *j = &sl->job;
	char why[256], msg[FILES_PATH_MAX + 64];
	double now = clock_mono_s();
	bool lost;
	int e;

	snprintf(sl->in_abs, sizeof(sl->in_abs), "%s", in);
	sl->rin.path = sl->in_abs;
	sl->rin.kind = j->input_kind;
	sl->rin.duration_ms = j->input_duration_ms;
	sl->rin.width = (int)j->input_width;
	sl->rin.height = (int)j->input_height;
	sl->rin.has_audio = j->input_audio_codec[0] != '\0';
	sl->rin.frame_rate_milli = j->input_fps_milli;
	if (rend_plan(sl->rend, &sl->rin, &sl->plan, why, sizeof(why)) != 0) {
		db_drop(s, j, "fail", queue_fail(s->db, j, why, false, &lost));
		slot_free(s, sl);
		return;
	}
	snprintf(sl->tmp, sizeof(sl->tmp), "%s/outputs/.tmp-%s-a%lld", s->cfg->media_root, claimed->id,
	         claimed->fence);
	/* A folder of this name is an earlier run of this very attempt's: none can be running. */
	e = files_remove_tree(sl->tmp);
	/* 0755 (less the umask), as ffmpeg makes the variant folders and the files in them: the web
	 * server reads them for X-Sendfile, under a user of its own where it has one. */
	if (e == 0 && mkdir(sl->tmp, 0755) != 0)
		e = errno;
	if (e != 0) {
		snprintf(msg, sizeof(msg), "cannot create a render folder in the media root: %s",
		         strerror(e));
		sl->tmp[0] = '\0';
		slot_env_fault(s, sl, msg);
		return;
	}
	sl->deadline = now + (double)s->cfg->render_timeout;
	sl->next_beat = now + BEAT_S;
	(void)rend_run(s, sl);
}

static void finish_try(struct spawner *s, struct slot *sl);

/* A rendition's ffmpeg exited 0: read back what it made, then record it. */
static void rend_done(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	char why[256], reason[320];
	bool lost;
	int rc;

	rc = rend_finish(&sl->plan, &sl->rin, sl->tmp, &sl->result, why, sizeof(why));
	if (rc == 1) {
		/* Every frame the poster filter saw was black: take the frame at the mark as it is. */
		ffrun_close(&sl->run);
		sl->plan.poster_plain = true;
		(void)rend_run(s, sl);
		return;
	}
	if (rc == -2) {
		slot_env_fault(s, sl, why);
		return;
	}
	if (rc != 0) {
		snprintf(reason, sizeof(reason), "ffmpeg produced no usable output: %s", why);
		db_drop(s, j, "fail", queue_fail(s->db, j, reason, false, &lost));
		log_info("job %s: output rejected: %s", j->id, why);
		slot_free(s, sl);
		return;
	}
	sl->t_probed = clock_mono_s();
	sl->phase = PH_FINISH;
	finish_try(s, sl);
}

/* Starts ffmpeg for a claimed job. On failure the job is failed (or released) and the slot stays free. */
static void slot_start(struct spawner *s, struct slot *sl, const struct claimed_job *claimed)
{
	const struct claimed_job *j = &sl->job;
	const struct preset *p = preset_find(claimed->preset);
	const char *argv[PRESET_MAX_ARGS];
	char in[FILES_PATH_MAX], scratch[2 * FILES_PATH_MAX + 64], msg[256];
	int64_t total_us = 0;
	double now = clock_mono_s();
	bool lost;
	int rc;

	slot_reset(sl);
	sl->job = *claimed;
	sl->busy = true;
	sl->t_claimed = now;
	sl->lease_ok_until = now + (double)s->cfg->render_lease - LEASE_MARGIN_S;
	/* The input comes from our own row and is re-checked against the media root's name rules. */
	if (p == NULL || !files_abs(s->cfg->media_root, j->input_path, in, sizeof(in))) {
		db_drop(s, j, "fail",
		        queue_fail(s->db, j, p == NULL ? "unknown preset" : "the input file is not valid",
		                   false, &lost));
		slot_free(s, sl);
		return;
	}
	sl->rend = (enum rend_kind)preset_rendition(p);
	if (sl->rend != REND_NONE) {
		rend_start(s, sl, claimed, in);
		return;
	}
	/* A name of this attempt's own (the fence is never reused): two attempts never share a file. */
	snprintf(sl->tmp, sizeof(sl->tmp), "%s/outputs/.tmp-%s-a%lld.%s", s->cfg->media_root, claimed->id,
	         claimed->fence, preset_ext(p));
	if (preset_argv(p, s->cfg->ffmpeg_path, in, j->input_kind, j->input_duration_ms, sl->tmp, argv,
	                scratch, sizeof(scratch), &total_us) < 0) {
		db_drop(s, j, "fail",
		        queue_fail(s->db, j, "this preset cannot render that input", false, &lost));
		sl->tmp[0] = '\0';
		slot_free(s, sl);
		return;
	}
	rc = ffrun_start(&sl->run, argv, total_us);
	if (rc != 0) {
		/* ENOENT, EACCES...: ffmpeg_path is wrong, which no job can fix. */
		snprintf(msg, sizeof(msg), "ffmpeg_path %.150s cannot be run: %s", s->cfg->ffmpeg_path,
		         strerror(rc));
		slot_env_fault(s, sl, msg);
		return;
	}
	sl->phase = PH_RENDER;
	sl->deadline = now + (double)s->cfg->render_timeout;
	sl->next_beat = now + BEAT_S;
	slot_probe_early(s, sl);
	log_info("job %s: attempt %d (claim %lld): %s of %s started (ffmpeg %ld)", j->id, j->attempt,
	         j->fence, j->preset, j->input_path, (long)sl->run.pid);
}

static void claim_ready(struct spawner *s)
{
	const char *held[MAX_SLOTS];
	char msg[256];
	int i, nheld = 0, n;

	if (!db_usable(s))
		return;
	/* Our own leases are never reaped by us, whatever their time says (a stall of ours). */
	for (i = 0; i < s->concurrency; i++)
		if (s->slots[i].busy)
			held[nheld++] = s->slots[i].job.id;
	n = queue_reap_expired(s->db, held, nheld, (int)s->cfg->render_max_interruptions);
	if (n < 0) {
		(void)db_note(s, MERR_UNAVAILABLE);
		log_error("reap: the database is unavailable");
		return;
	}
	if (n > 0)
		log_info("returned %d job(s) whose spawner stopped or lost its lease to the queue", n);
	if (clock_mono_s() < s->fault_until)
		return;
	if (nheld < s->concurrency && media_root_fault(s, msg, sizeof(msg))) {
		spawner_fault(s, msg);
		return;
	}
	for (i = 0; i < s->concurrency && !s->stopping && db_usable(s); i++) {
		struct claimed_job j;
		enum merr err;

		if (s->slots[i].busy)
			continue;
		err = queue_claim(s->db, s->owner, s->cfg->render_lease, (int)s->cfg->render_max_attempts,
		                  &j);
		if (err != MERR_OK) {
			if (err != MERR_NOT_FOUND) {
				(void)db_note(s, err);
				log_error("claim: %s", merr_code(err));
				s->failed = true;
			}
			return;
		}
		slot_start(s, &s->slots[i], &j);
		if (!s->slots[i].busy) {
			if (clock_mono_s() < s->fault_until)
				return; /* the spawner is at fault: leave the other jobs waiting */
			i--; /* that job failed at once: the slot is still free, try the next job */
		} else {
			spawner_fault_clear(s);
		}
	}
}

/* finish_try's last step for a rendition job: the rows, the job's completion, and then the folders of
 * the renditions this one replaced. */
static void finish_renditions(struct spawner *s, struct slot *sl, const char *dst)
{
	const struct claimed_job *j = &sl->job;
	char old[1024], path[FILES_PATH_MAX];
	const char *d;
	enum merr err;
	bool lost, superseded = false;

	err = queue_finish_renditions(s->db, j, rend_kind_name(sl->rend), sl->result.rows, sl->result.n, old,
	                              sizeof(old), &superseded);
	if (err == MERR_OK && superseded) {
		log_info("job %s: completed, but a newer %s job's renditions are already in place; its "
		         "output is discarded",
		         j->id, j->preset);
		out_remove(s, sl, dst);
		sl->placed = false;
		spawner_fault_clear(s);
		slot_free(s, sl);
		return;
	}
	if (err == MERR_OK) {
		for (d = old; *d != '\0'; d += strlen(d) + 1)
			if (files_abs(s->cfg->media_root, d, path, sizeof(path)))
				out_remove(s, sl, path);
		log_info(
		        "job %s: completed -> %s (%d rendition(s); ffmpeg %.3f s, read back %.3f s, recorded "
		        "%.3f s after the claim)",
		        j->id, j->output_path, sl->result.n, sl->t_rendered - sl->t_claimed,
		        sl->t_probed - sl->t_rendered, clock_mono_s() - sl->t_claimed);
		spawner_fault_clear(s);
		slot_free(s, sl);
		return;
	}
	if (db_note(s, err) == MERR_UNAVAILABLE) {
		log_info("job %s: recording the renditions got no answer; checking the job again", j->id);
		sl->ask_outcome = true;
		return;
	}
	log_error("job %s: the renditions could not be recorded (%s)", j->id, merr_code(err));
	once_fail(s);
	if (db_note(s, queue_fail(s->db, j,
	                          err == MERR_NOT_FOUND ? "the media was deleted while it rendered" :
	                                                  "the output could not be recorded",
	                          false, &lost)) == MERR_OK &&
	    !lost)
		out_remove(s, sl, dst); /* failed for good under our fence: nothing will ever point at it */
	sl->placed = false;
	slot_free(s, sl);
}

/* Records the output. Runs when the probe succeeded and again each beat while the database cannot
 * say yes or no. Never replaces or removes a file a committed row may point at: the rename happens
 * only under the job's row lock while this attempt owns it, and the output path is never unlinked
 * unless that same lock makes the job cancelled. */
static void finish_try(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	char dst[FILES_PATH_MAX], dir[FILES_PATH_MAX], msg[256];
	enum queue_outcome oc;
	bool owned = false, cancel = false, lost;
	enum merr err;
	int rc;

	if (!db_usable(s))
		return;
	if (sl->ask_outcome) {
		if (db_note(s, queue_outcome(s->db, j, &oc)) != MERR_OK)
			return;
		sl->ask_outcome = false;
		if (oc == QUEUE_COMPLETED) {
			log_info("job %s: completed -> %s (confirmed after a lost reply)", j->id,
			         j->output_path);
			spawner_fault_clear(s);
			slot_free(s, sl);
			return;
		}
		if (oc == QUEUE_ELSEWHERE) {
			log_info("job %s: attempt %d finished but no longer owns the job", j->id, j->attempt);
			slot_free(s, sl);
			return;
		}
	}
	err = db_note(s, queue_finish_lock(s->db, j, &owned, &cancel));
	if (err != MERR_OK)
		return; /* try again next beat, while the local lease lasts */
	if (!owned) {
		if (sl->placed) {
			sl->ask_outcome = true; /* ours if the lost COMMIT went through */
			return;
		}
		log_info("job %s: attempt %d finished but no longer owns the job", j->id, j->attempt);
		slot_free(s, sl);
		return;
	}
	snprintf(dst, sizeof(dst), "%s/%s", s->cfg->media_root, j->output_path);
	if (cancel) {
		if (sl->placed)
			out_remove(s, sl, dst); /* under our lock, and the job ends without an output */
		db_drop(s, j, "finish cancel", queue_finish_cancel(s->db, j));
		log_info("job %s: cancelled while finishing; output discarded", j->id);
		sl->placed = false;
		slot_free(s, sl);
		return;
	}
	if (!sl->placed) {
		/* Whatever sits at output_path is an earlier attempt's that never committed (the job is
		 * active under our fence and locked): replacing it is safe. */
		snprintf(dir, sizeof(dir), "%s/outputs", s->cfg->media_root);
		rc = rename(sl->tmp, dst) != 0 ? errno : 0;
		if ((rc == ENOTEMPTY || rc == EEXIST) && sl->rend != REND_NONE) {
			/* A folder is not replaced by a rename as a file is: the earlier attempt's goes
			 * first (it never committed, as above). */
			rc = files_remove_tree(dst);
			if (rc == 0)
				rc = rename(sl->tmp, dst) != 0 ? errno : 0;
		}
		if (rc == 0)
			rc = files_sync_dir(dir);
		if (rc != 0) {
			db_rollback(s->db);
			snprintf(msg, sizeof(msg), "cannot store an output in the media root: %s",
			         strerror(rc));
			slot_env_fault(s, sl, msg);
			return;
		}
		sl->placed = true;
		sl->tmp[0] = '\0';
	}
	if (sl->rend != REND_NONE) {
		finish_renditions(s, sl, dst);
		return;
	}
	err = queue_finish_commit(s->db, j, &sl->m);
	if (err == MERR_OK) {
		log_info("job %s: completed -> %s (ffmpeg %.3f s, probe %.3f s, recorded %.3f s after the "
		         "claim)",
		         j->id, j->output_path, sl->t_rendered - sl->t_claimed, sl->t_probed - sl->t_rendered,
		         clock_mono_s() - sl->t_claimed);
		spawner_fault_clear(s);
		slot_free(s, sl);
		return;
	}
	if (db_note(s, err) == MERR_UNAVAILABLE) {
		/* The COMMIT (or a statement before it) got no answer: read the row before deciding. */
		log_info("job %s: recording the output got no answer; checking the job again", j->id);
		sl->ask_outcome = true;
		return;
	}
	log_error("job %s: the output could not be recorded (%s)", j->id, merr_code(err));
	once_fail(s);
	if (db_note(s, queue_fail(s->db, j, "the output could not be recorded", false, &lost)) == MERR_OK &&
	    !lost)
		out_remove(s, sl, dst); /* failed for good under our fence: nothing will ever point at it */
	sl->placed = false;
	slot_free(s, sl);
}

/* ffprobe of the output ended: record it, or say why not. */
static void probe_done(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	const struct preset *p = preset_find(j->preset);
	struct probe_result pr;
	struct stat st;
	char why[256];
	bool lost;
	int rc;

	struct probe_outcome o;
	bool timed_out = sl->probe.timed_out;

	sl->t_probed = clock_mono_s();
	probe_outcome_of(&o, &sl->probe);
	rc = probe_verdict(&sl->pcmd, &o, &pr, why, sizeof(why));
	child_close(&sl->probe);
	if (sl->fed &&
	    ((rc == -1 && !timed_out) ||
	     (rc == 0 && (pr.kind == PROBE_VIDEO || pr.kind == PROBE_AUDIO) && pr.duration_ms < 0))) {
		/* The stream did not tell the length (probe.h), or the probe through stdin failed (a feed
		 * cut short, the pipe demuxer reading otherwise): the file itself decides. */
		sl->fed = false;
		probe_cmd_free(&sl->pcmd);
		rc = slot_probe_start(s, sl, why, sizeof(why));
		if (rc == 0)
			return;
	}
	if (rc == -2) {
		slot_env_fault(s, sl, why);
		return;
	}
	if (rc != 0 || pr.kind == PROBE_OTHER || stat(sl->tmp, &st) != 0) {
		/* A slow ffprobe is the machine's trouble more than the file's: try again later. */
		db_drop(s, j, "fail",
		        queue_fail(s->db, j,
		                   timed_out ? "ffprobe timed out on the output" :
		                               "ffmpeg produced no usable output",
		                   timed_out, &lost));
		log_info("job %s: output rejected: %s", j->id, why);
		slot_free(s, sl);
		return;
	}
	memset(&sl->m, 0, sizeof(sl->m));
	sl->m.user_id = j->user_id;
	sl->m.project_id = j->project_id;
	snprintf(sl->m.title, sizeof(sl->m.title), "%s render of %s", j->preset, j->input_path);
	snprintf(sl->m.kind, sizeof(sl->m.kind), "%s", p != NULL ? preset_output_kind(p) : "video");
	snprintf(sl->m.mime, sizeof(sl->m.mime), "%s", pr.mime);
	snprintf(sl->m.path, sizeof(sl->m.path), "%s", j->output_path);
	snprintf(sl->m.video_codec, sizeof(sl->m.video_codec), "%s", pr.video_codec);
	snprintf(sl->m.audio_codec, sizeof(sl->m.audio_codec), "%s", pr.audio_codec);
	sl->m.size_bytes = (int64_t)st.st_size;
	sl->m.duration_ms = pr.duration_ms;
	sl->m.width = pr.width;
	sl->m.height = pr.height;
	sl->m.frame_rate_milli = pr.frame_rate_milli;
	sl->phase = PH_FINISH;
	finish_try(s, sl);
}

/*
 * ffmpeg exited 0: has the output probed and made durable, the two at once. The early ffprobe
 * gets the file on its stdin when it still waits there; otherwise a new one reads the path. The
 * data is synced here (the folder after the rename), before anything records the output.
 * Returns 0 (PH_PROBE follows), 1 when there is no output, -1 when it is unusable and -2 when the
 * spawner is at fault, both with msg set.
 */
static int slot_output(const struct spawner *s, struct slot *sl, char *msg, size_t len)
{
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: should anything have put a FIFO there, the open does not wait for a writer. */
	fd = open(sl->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP))
		return 1;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !child_tick(&sl->probe)) {
		child_arm(&sl->probe, (int64_t)s->cfg->ffprobe_timeout * 1000);
		rc = child_feed(&sl->probe, fd); /* takes fd */
		fd = -1;
		sl->fed = rc == 0;
		if (rc != 0)
			child_close(&sl->probe); /* cannot happen: it runs and was never fed */
	} else {
		/* Gone (or never started): the usual probe, below. */
		child_close(&sl->probe);
	}
	if (fd >= 0)
		close(fd);
	/* Durable before it is recorded; ffprobe reads from the page cache meanwhile. */
	rc = files_sync(sl->tmp);
	if (rc == ENOENT || rc == ELOOP)
		return 1;
	if (rc != 0) {
		snprintf(msg, len, "cannot sync a render output: %s", strerror(rc));
		return -2;
	}
	if (child_done(&sl->probe, NULL)) {
		child_close(&sl->probe);
		probe_cmd_free(&sl->pcmd);
		return slot_probe_start(s, sl, msg, len);
	}
	return 0;
}

/* ffmpeg has exited (and was reaped): what its end means for the job. */
static void render_done(struct spawner *s, struct slot *sl)
{
	const struct claimed_job *j = &sl->job;
	char reason[FFRUN_REASON_MAX + 1], msg[256];
	int st = sl->run.status, rc;
	bool lost = false;

	switch (sl->stop) {
	case STOP_LOST:
		log_info("job %s: attempt %d lost its lease to another spawner; stopped", j->id, j->attempt);
		break;
	case STOP_LEASE:
		/* Fenced: a no-op if the reaper or another spawner got there first. */
		if (db_usable(s))
			db_drop(s, j, "interrupted",
			        queue_interrupted(s->db, j, (int)s->cfg->render_max_interruptions));
		log_info("job %s: attempt %d stopped: its lease could not be renewed in time", j->id,
		         j->attempt);
		break;
	case STOP_CANCEL:
		db_drop(s, j, "cancelled", queue_cancelled(s->db, j));
		log_info("job %s: cancelled", j->id);
		break;
	case STOP_SHUTDOWN:
		if (db_usable(s))
			db_drop(s, j, "release", queue_release(s->db, j));
		log_info("job %s: released for another spawner", j->id);
		break;
	case STOP_TIMEOUT:
		snprintf(reason, sizeof(reason), "timed out after %lld s", s->cfg->render_timeout);
		db_drop(s, j, "fail", queue_fail(s->db, j, reason, true, &lost));
		log_info("job %s: %s", j->id, reason);
		break;
	case STOP_NONE:
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && sl->rend != REND_NONE) {
			rend_done(s, sl);
			return;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			rc = slot_output(s, sl, msg, sizeof(msg));
			if (rc == 1) {
				db_drop(s, j, "fail",
				        queue_fail(s->db, j, "ffmpeg produced no output", false, &lost));
				log_info("job %s: ffmpeg exited 0 without an output", j->id);
				break;
			}
			if (rc == -2) {
				slot_env_fault(s, sl, msg);
				return;
			}
			if (rc != 0) {
				db_drop(s, j, "fail",
				        queue_fail(s->db, j, "ffmpeg produced no usable output", false,
				                   &lost));
				log_info("job %s: output rejected: %s", j->id, msg);
				break;
			}
			sl->phase = PH_PROBE;
			return;
		}
		if (render_env_fault(s, sl, msg, sizeof(msg))) {
			slot_env_fault(s, sl, msg);
			return;
		}
		if (WIFEXITED(st)) {
			/* ffmpeg ran and refused: the same input would fail again, so no retry. */
			if (ffmpeg_reason(sl->run.err, sl->run.err_len, s->cfg->media_root, reason,
			                  sizeof(reason)) == 0)
				snprintf(reason, sizeof(reason), "ffmpeg failed with exit code %d",
				         WEXITSTATUS(st));
			db_drop(s, j, "fail", queue_fail(s->db, j, reason, false, &lost));
			log_info("job %s: failed: %s", j->id, reason);
		} else {
			snprintf(reason, sizeof(reason), "ffmpeg was killed by signal %d", WTERMSIG(st));
			db_drop(s, j, "fail", queue_fail(s->db, j, reason, true, &lost));
			log_info("job %s: attempt %d: %s", j->id, j->attempt, reason);
		}
		break;
	}
	slot_free(s, sl);
}

/* A notification: a new job (wake up and claim), or a cancel of one of ours. */
static void on_notify_one(const char *channel, const char *extra, void *ud)
{
	struct spawner *s = ud;
	double now = clock_mono_s();
	int i;

	if (strcmp(channel, "render_jobs") == 0)
		s->wake = true;
	else if (strcmp(channel, "render_cancel") == 0)
		for (i = 0; i < s->concurrency; i++)
			if (s->slots[i].busy && s->slots[i].phase != PH_FINISH &&
			    strcmp(s->slots[i].job.id, extra) == 0)
				slot_stop(&s->slots[i], STOP_CANCEL, now);
}

/* Renews the lease (and reports progress); stops the slot when the job was cancelled or taken. */
static void slot_heartbeat(struct spawner *s, struct slot *sl, double now)
{
	bool cancel = false, lost = false;
	int pct = sl->phase == PH_RENDER ? ffrun_percent(&sl->run) : 99;

	sl->next_beat = now + BEAT_S;
	if (!db_usable(s))
		return;
	if (db_note(s, queue_heartbeat(s->db, &sl->job, pct >= 100 ? 99 : pct, s->cfg->render_lease, &cancel,
	                               &lost)) != MERR_OK)
		return;
	if (lost)
		slot_stop(sl, STOP_LOST, now);
	else if (cancel)
		slot_stop(sl, STOP_CANCEL, now);
	else
		sl->lease_ok_until = now + (double)s->cfg->render_lease - LEASE_MARGIN_S;
}

/* Timeouts, kill escalation, heartbeats, the local lease: everything a slot needs each turn. */
static void slot_tick(struct spawner *s, struct slot *sl, double now)
{
	if (sl->phase == PH_FINISH) {
		if (now >= sl->lease_ok_until) {
			/* Recording never got through in time; another spawner may have the job by now. */
			log_info("job %s: attempt %d could not record its output before its lease ran out",
			         sl->job.id, sl->job.attempt);
			if (!sl->placed && db_usable(s))
				db_drop(s, &sl->job, "interrupted",
				        queue_interrupted(s->db, &sl->job,
				                          (int)s->cfg->render_max_interruptions));
			slot_free(s, sl);
		} else if (now >= sl->next_beat) {
			sl->next_beat = now + BEAT_S;
			finish_try(s, sl);
		}
		return;
	}
	if (sl->stop == STOP_NONE && sl->phase == PH_RENDER && now >= sl->deadline)
		slot_stop(sl, STOP_TIMEOUT, now);
	if (sl->stop == STOP_NONE && now >= sl->lease_ok_until)
		slot_stop(sl, STOP_LEASE, now);
	if (sl->stop != STOP_NONE && sl->kill_at > 0 && now >= sl->kill_at) {
		ffrun_signal(&sl->run, SIGKILL);
		sl->kill_at = 0;
	}
	if (sl->stop == STOP_NONE && now >= sl->next_beat)
		slot_heartbeat(s, sl, now);
	if (sl->phase == PH_PROBE) {
		if (child_tick(&sl->probe)) {
			if (sl->stop != STOP_NONE) {
				sl->phase = PH_RENDER; /* report the stop as for a render */
				sl->run.status = 0;
				render_done(s, sl);
			} else {
				probe_done(s, sl);
			}
		}
		return;
	}
	if (ffrun_reap(&sl->run, false)) {
		sl->t_rendered = clock_mono_s();
		/* Drain what the pipes still hold before judging the outcome. */
		if (sl->run.out_fd >= 0)
			ffrun_read(&sl->run, sl->run.out_fd);
		if (sl->run.err_fd >= 0)
			ffrun_read(&sl->run, sl->run.err_fd);
		render_done(s, sl);
	}
}

static int run(struct spawner *s)
{
	struct pollfd pfd[2 + (2 + CHILD_POLLFDS) * MAX_SLOTS];
	struct slot *owner[2 + (2 + CHILD_POLLFDS) * MAX_SLOTS];
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
		double now = clock_mono_s(), until;
		int n = 0, timeout_ms;

		/* Slots first: heartbeats renew our leases before the reaper looks at anyone's. */
		for (i = 0; i < s->concurrency; i++) {
			struct slot *sl = &s->slots[i];

			if (!sl->busy)
				continue;
			if (s->stopping && now >= s->stop_deadline && sl->stop == STOP_NONE) {
				if (sl->phase == PH_FINISH) {
					if (!sl->placed && db_usable(s))
						db_drop(s, &sl->job, "release",
						        queue_release(s->db, &sl->job));
					slot_free(s, sl);
					continue;
				}
				slot_stop(sl, STOP_SHUTDOWN, now);
			}
			slot_tick(s, sl, clock_mono_s());
		}
		if (!s->once)
			listen_ensure(&s->listen, s->cfg, clock_mono_s(), db_usable(s));
		now = clock_mono_s();
		if (!s->stopping && (s->wake || now >= next_poll)) {
			s->wake = false;
			next_poll = now + (double)s->cfg->render_poll_interval;
			claim_ready(s);
			if (s->once && running(s) == 0)
				break; /* --once: nothing ready and nothing running */
		}
		spawner_beat(s, clock_mono_s());
		if (s->stopping && running(s) == 0)
			break;
		if (s->stopping && clock_mono_s() > s->stop_deadline + KILL_AFTER_S + EXIT_AFTER_S) {
			log_error("stopping: the database did not let the jobs be handed back in time; their "
			          "leases will run out and other spawners take them");
			break;
		}
		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		owner[n++] = NULL;
		if (listen_fd(&s->listen) >= 0) {
			pfd[n].fd = listen_fd(&s->listen);
			pfd[n].events = POLLIN;
			owner[n++] = NULL;
		}
		now = clock_mono_s();
		until = s->stopping ? s->stop_deadline : next_poll;
		if (s->stopping && now >= s->stop_deadline)
			until = now + 0.1;
		if (s->next_spawner_beat < until)
			until = s->next_spawner_beat;
		for (i = 0; i < s->concurrency; i++) {
			struct slot *sl = &s->slots[i];

			if (!sl->busy)
				continue;
			if (sl->phase == PH_RENDER) {
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
				if (sl->deadline < until)
					until = sl->deadline;
				if (sl->kill_at > 0 && sl->kill_at < until)
					until = sl->kill_at;
			} else if (sl->phase == PH_PROBE) {
				size_t k, m = child_pollfds(&sl->probe, &pfd[n]);
				int next = child_next_ms(&sl->probe);

				for (k = 0; k < m; k++)
					owner[n++] = sl;
				if (next >= 0 && now + next / 1000.0 < until)
					until = now + next / 1000.0;
			}
			if (sl->next_beat < until)
				until = sl->next_beat;
			if (sl->lease_ok_until < until)
				until = sl->lease_ok_until;
		}
		timeout_ms = until <= now ? 0 : (int)((until - now) * 1000.0) + 1;
		if (timeout_ms > 1000)
			timeout_ms = 1000; /* a child that exits with its pipes held open by a grandchild */
		if (poll(pfd, (nfds_t)n, timeout_ms) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			close(sfd);
			return 1;
		}
		now = clock_mono_s();
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
				listen_drain(&s->listen, on_notify_one, s);
			} else if (owner[i]->busy && owner[i]->phase == PH_RENDER) {
				ffrun_read(&owner[i]->run, pfd[i].fd);
			} else if (owner[i]->busy && owner[i]->phase == PH_PROBE) {
				child_read(&owner[i]->probe, pfd[i].fd);
			}
		}
	}
	close(sfd);
	/* The row says what we last knew; a --once run leaves its fault there for mediactl status. */
	s->next_spawner_beat = 0;
	s->db_pause_until = 0;
	spawner_beat(s, clock_mono_s());
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
	if (sodium_init() < 0) {
		fprintf(stderr, "media-spawner: libsodium failed to initialise\n");
		return 1;
	}
	if (config_load(&cfg, CONFIG_NEED_DB | CONFIG_NEED_MEDIA, err, sizeof(err)) != 0) {
		fprintf(stderr, "media-spawner: configuration: %s\n", err);
		config_free(&cfg);
		return 78;
	}
	s.cfg = &cfg;
	s.listen.app = "media-spawner";
	s.listen.sql = "LISTEN render_jobs; LISTEN render_cancel";
	s.listen.poll_s = cfg.render_poll_interval;
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
			/* --once: renders are written to outputs/ (only there): refused now, in one line,
			 * not job after job. The daemon starts anyway and waits, as a spawner fault (see
			 * media_root_fault), until the folder can be written: a restart loop would not
			 * fix it, and RestartPreventExitStatus=78 would keep it down once fixed. */
			if (s.once && c == 2 && access(d, W_OK | X_OK) != 0) {
				fprintf(stderr, "media-spawner: media_root: %.300s is not writable: %s\n", d,
				        strerror(errno));
				config_free(&cfg);
				return 78;
			}
		}
	}
	/* From cron: the log goes to stdout (the crontab's log file), one line on stderr on failure. */
	if (s.once)
		log_once_begin();
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
	snprintf(s.host, sizeof(s.host), "%s", host);
	s.db = db_open(&cfg, queue_statements, queue_statements_count);
	if (s.db == NULL)
		goto out;
	log_info("%s: %d slot(s)%s", s.owner, s.concurrency, s.once ? ", once" : "");
	rc = run(&s);
out:
	for (c = 0; c < s.concurrency; c++)
		if (s.slots[c].busy)
			slot_free(&s, &s.slots[c]);
	listen_close(&s.listen);
	db_free(s.db);
	config_free(&cfg);
	return s.once ? log_once_end(rc) : rc;
}
