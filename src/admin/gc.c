/* gc.c: `mediactl gc`: stale temp files and files no row points at go; rows without a file are
 * reported. */
#include "config.h"

#include "admin/gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/files.h"

/* A longer name is not one the server made (it makes names of about 40 bytes): left alone. */
#define GC_NAME_MAX 255
/* Files asked about in one query. */
#define GC_BATCH 256
/* Media rows read per page when looking for missing files. */
#define GC_PAGE 1000
#define GC_PAGE_S "1000"

/* Deliveries of a deleted endpoint removed by one statement (their attempts go with them). */
#define GC_HOOK_PAGE 200
#define GC_HOOK_PAGE_S "200"
/* The events of the deliveries a CTE d just removed (id, event_id) that have no other delivery. */
#define GC_EVENTS_OF_D                                                                                     \
	"DELETE FROM webhook_events e WHERE e.id IN (SELECT event_id FROM d) AND NOT EXISTS "              \
	"(SELECT 1 FROM webhook_deliveries x WHERE x.event_id = e.id AND x.id NOT IN (SELECT id FROM d)) " \
	"RETURNING 1"
/* Delivery d finished more than $1 seconds ago. */
#define GC_OLD_DELIVERY "d.state <> 'pending' AND d.finished_at < now() - $1 * interval '1 second'"

#define GC_UUID_RE "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

/*
 * What the database protects, whatever the file's age:
 * - a file a media row names;
 * - a file at the output_path of a job that is waiting or active. A spawner renames its finished
 *   temp file to output_path first and commits the media row (with the job's completion) after,
 *   in one transaction; between the two, the file has no row yet. A waiting job may also find
 *   there the output of an attempt that crashed between the two steps, which it will replace.
 *   Once the job completed, its media row protects the file; once it failed or was cancelled,
 *   nothing will claim the file again and it is an orphan like any other;
 * - a temp file named after a job that is waiting or active (".tmp-<job id>-a<N>.<ext>", the
 *   spawner's name for a render in progress): ffmpeg may write nothing for a while;
 * - a rendition job's folder (outputs/<job id>, a temp one ".tmp-<job id>-a<N>" while it runs),
 *   protected by its media_renditions rows, or as above while its job is waiting or active. A
 *   folder is removed whole (files_remove_tree_at); it is found in outputs/ only.
 * - a resumable upload's partial file (uploads/.tus-<upload id>.part) while its uploads row exists.
 *   Expired uploads go first, whatever their age: the row, then the file (gc_uploads), unless a
 *   PATCH still holds the file's lock (then the next run).
 * An upload is renamed into uploads/ just before its row is inserted, with no job to protect it:
 * the age bound does. The file's mtime dates from before the ffprobe run that precedes the
 * rename, so the bound (at least GC_MIN_AGE) must exceed ffprobe_timeout (default 30 s).
 * Each answer is re-checked against the file (same inode, still old) right before unlinking it.
 */
const struct db_stmt gc_statements[] = {
	/* $1: a text[] of relative paths. One row per path, in order: the path, and t to keep it. */
	{ "gc_keep",
	  "SELECT p.path, EXISTS (SELECT 1 FROM media m WHERE m.path = p.path) "
	  "OR EXISTS (SELECT 1 FROM media_renditions r WHERE r.dir = p.path) "
	  "OR EXISTS (SELECT 1 FROM render_jobs j WHERE j.output_path = p.path "
	  "AND j.state IN ('waiting', 'active')) "
	  "OR EXISTS (SELECT 1 FROM render_jobs j WHERE j.state IN ('waiting', 'active') "
	  "AND j.id = substring(p.path FROM '^outputs/\\.tmp-(" GC_UUID_RE ")-a[0-9]+(\\.|$)')::uuid) "
	  "OR EXISTS (SELECT 1 FROM uploads u "
	  "WHERE u.id = substring(p.path FROM '^uploads/\\.tus-(" GC_UUID_RE ")\\.part$')::uuid) "
	  "FROM unnest($1::text[]) WITH ORDINALITY AS p(path, n) ORDER BY p.n",
	  1 },
	/* Expired resumable uploads, by pages in id order. */
	{ "gc_uploads_expired",
	  "SELECT id::text FROM uploads WHERE expires_at <= now() AND id > $1::uuid ORDER BY id LIMIT " GC_PAGE_S,
	  1 },
	{ "gc_upload_delete", "DELETE FROM uploads WHERE id = $1 AND expires_at <= now() RETURNING 1", 1 },
	{ "gc_media_page", "SELECT id, path FROM media WHERE id > $1 ORDER BY id LIMIT " GC_PAGE_S, 1 },
	{ "gc_media_still", "SELECT 1 FROM media WHERE id = $1 AND path = $2", 2 },
	/* Webhook deliveries finished more than $1 seconds ago (their attempts by cascade), oldest
	 * first by pages (webhook_deliveries_finished_idx), and in the same statement the events whose
	 * last deliveries these were (the DELETE's own rows are still visible to the NOT EXISTS: d's
	 * ids are left out). The state is checked again on the row, so one a retry made pending
	 * meanwhile stays. */
	{ "gc_webhook_deliveries",
	  "WITH d AS (DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries "
	  "WHERE state <> 'pending' AND finished_at < now() - $1 * interval '1 second' "
	  "ORDER BY finished_at LIMIT " GC_PAGE_S ") "
	  "AND state <> 'pending' AND finished_at < now() - $1 * interval '1 second' RETURNING id, event_id), "
	  "e AS (" GC_EVENTS_OF_D ") SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM e)",
	  1 },
	/* The deliveries of deleted endpoints (DELETE /webhooks/:id), whatever their state, by pages
	 * of GC_HOOK_PAGE (each takes its attempts by cascade), with the events left without any. */
	{ "gc_webhook_deleted_deliveries",
	  "WITH d AS (DELETE FROM webhook_deliveries WHERE id IN (SELECT x.id FROM webhooks w "
	  "JOIN webhook_deliveries x ON x.webhook_id = w.id WHERE w.deleted_at IS NOT NULL LIMIT " GC_HOOK_PAGE_S
	  ") RETURNING id, event_id), "
	  "e AS (" GC_EVENTS_OF_D ") SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM e)",
	  0 },
	/* Then the deleted endpoints left without deliveries. A change that wrote one meanwhile (its
	 * fan-out locked the row before the delete) is waited for; the cascade takes that delivery. */
	{ "gc_webhook_deleted",
	  "WITH d AS (DELETE FROM webhooks w WHERE w.id IN (SELECT id FROM webhooks WHERE deleted_at IS NOT NULL "
	  "LIMIT " GC_PAGE_S
	  ") AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.webhook_id = w.id) "
	  "RETURNING 1) SELECT count(*) FROM d",
	  0 },
	/* Events without deliveries the statements above did not see (a user's deletion takes its
	 * endpoints' deliveries by cascade), by pages of ids after $1: the last id read, how many
	 * removed, how many read. webhook_emit writes an event and its deliveries in one transaction,
	 * so an event is never seen before them. */
	{ "gc_webhook_events",
	  "WITH p AS (SELECT id FROM webhook_events WHERE id > $1::uuid ORDER BY id LIMIT " GC_PAGE_S "), "
	  "d AS (DELETE FROM webhook_events e USING p WHERE e.id = p.id "
	  "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.event_id = e.id) RETURNING 1) "
	  "SELECT (SELECT id::text FROM p ORDER BY id DESC LIMIT 1), (SELECT count(*) FROM d), "
	  "(SELECT count(*) FROM p)",
	  1 },
	/* --dry-run: what the four above would remove (deliveries, deleted endpoints, their other
	 * deliveries, events). */
	{ "gc_webhook_count",
	  "SELECT (SELECT count(*) FROM webhook_deliveries d WHERE " GC_OLD_DELIVERY "), "
	  "(SELECT count(*) FROM webhooks WHERE deleted_at IS NOT NULL), "
	  "(SELECT count(*) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE w.deleted_at IS NOT NULL AND NOT (" GC_OLD_DELIVERY ")), "
	  "(SELECT count(*) FROM webhook_events e WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d "
	  "JOIN webhooks w ON w.id = d.webhook_id WHERE d.event_id = e.id AND w.deleted_at IS NULL "
	  "AND NOT (" GC_OLD_DELIVERY ")))",
	  1 },
};
const int gc_statements_count = (int)(sizeof(gc_statements) / sizeof(gc_statements[0]));

enum gc_kind { GC_SKIP, GC_TEMP, GC_ORPHAN };

/* A regular file old enough to go, unless the database says otherwise. */
struct gc_entry {
	char name[GC_NAME_MAX + 1];
	enum gc_kind kind;
	bool dir; /* a rendition folder: removed with what it holds */
	dev_t dev;
	ino_t ino;
};

/* uploads/ or outputs/, opened once: every later look-up is relative to fd, never a path. */
struct gc_folder {
	const char *dir;
	int fd;
};

struct gc_tally {
	long long removed;
	long long bytes;
	long long missing;
	long long errors; /* files that could not be read or removed (listed on out): exit status 1 */
};

/*
 * A file gc could not read or remove: listed on out with the files removed, and counted; the run
 * goes on, and one line on stderr sums them up at the end (gc_run), so that cron mails one line.
 */
static __attribute__((format(printf, 3, 4))) void gc_file_error(struct gc_tally *t, FILE *out,
                                                                const char *fmt, ...)
{
	va_list ap;

	fputs("mediactl: gc: ", out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	t->errors++;
}

int gc_parse_duration(const char *s, long long *secs)
{
	long long n, unit;
	char *end;

	/* strtoll alone would take leading blanks and a sign. */
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (end[0] == '\0')
		unit = 1;
	else if (end[1] != '\0')
		return -1;
	else if (end[0] == 's')
		unit = 1;
	else if (end[0] == 'm')
		unit = 60;
	else if (end[0] == 'h')
		unit = 3600;
	else if (end[0] == 'd')
		unit = 86400;
	else
		return -1;
	if (n > GC_MAX_AGE / unit)
		return -1;
	*secs = n * unit;
	return 0;
}

/* True when name is 1..GC_NAME_MAX bytes of [A-Za-z0-9._-]: a plain name, safe to print. */
static bool gc_name_chars_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= GC_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i > 0;
}

static enum gc_kind gc_classify(const char *name)
{
	if (!gc_name_chars_ok(name))
		return GC_SKIP;
	if ((strncmp(name, ".tmp-", 5) == 0 || strncmp(name, ".tus-", 5) == 0) && name[5] != '\0')
		return GC_TEMP;
	/* ".", "..", and hidden names (an NFS .nfsXXXX, a .keep): nobody's upload or render. */
	if (name[0] == '.')
		return GC_SKIP;
	return GC_ORPHAN;
}

/* A file in the future is young. */
static bool gc_old(const struct stat *st, time_t now, long long older_than)
{
	return (long long)now - (long long)st->st_mtime > older_than;
}

/*
 * Asks which of the n entries of f the database protects: keep[i] is set for those. Returns 0,
 * or -1 after printing the error (keep is then unspecified and nothing may be removed).
 */
static int gc_ask(struct db *db, const struct gc_folder *f, const struct gc_entry *e, int n, bool *keep)
{
	size_t elem = strlen(f->dir) + 1 + GC_NAME_MAX + 3; /* "dir/name", */
	size_t cap = (size_t)n * elem + 3, len = 1;
	const char *params[1];
	struct pg_result *res = NULL;
	enum merr err;
	char *lit;
	int i, rc = -1;

	lit = malloc(cap);
	if (lit == NULL) {
		fprintf(stderr, "mediactl: gc: out of memory\n");
		return -1;
	}
	/* A text[] literal, every element quoted; names hold only [A-Za-z0-9._-]: nothing to escape.
	 * It travels as a parameter like any other value. */
	lit[0] = '{';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(lit + len, cap - len, "%s\"%s/%s\"", i ? "," : "", f->dir, e[i].name);
	snprintf(lit + len, cap - len, "}");
	params[0] = lit;
	res = db_exec(db, "gc_keep", 1, params, &err);
	if (res == NULL) {
		fprintf(stderr, "mediactl: gc: database error looking up files of %s/ (%s)\n", f->dir,
		        merr_code(err));
		goto out;
	}
	if (PQntuples(res) != n) {
		fprintf(stderr, "mediactl: gc: the database answered %d rows for %d files\n", PQntuples(res),
		        n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *path = PQgetvalue(res, i, 0);
		size_t dl = strlen(f->dir);

		if (strncmp(path, f->dir, dl) != 0 || path[dl] != '/' ||
		    strcmp(path + dl + 1, e[i].name) != 0) {
			fprintf(stderr, "mediactl: gc: the database answered out of order\n");
			goto out;
		}
		keep[i] = PQgetvalue(res, i, 1)[0] == 't';
	}
	rc = 0;
out:
	db_clear(res);
	free(lit);
	return rc;
}

/* Asks about a batch, then removes (or lists) what nothing protects. Returns 0 or -1 (database). */
static int gc_batch(struct db *db, const struct gc_folder *f, const struct gc_entry *e, int n,
                    const struct gc_opts *o, time_t now, FILE *out, struct gc_tally *t)
{
	bool keep[GC_BATCH];
	int i;

	if (gc_ask(db, f, e, n, keep) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *what = e[i].kind == GC_TEMP ? "temp" : "orphan";
		struct stat st;

		if (keep[i])
			continue;
		/* Still the file we asked about, still regular and old. */
		if (fstatat(f->fd, e[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				gc_file_error(t, out, "%s/%s: %s", f->dir, e[i].name, strerror(errno));
			continue;
		}
		if (!(S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && e[i].dir)) || st.st_dev != e[i].dev ||
		    st.st_ino != e[i].ino || !gc_old(&st, now, o->older_than))
			continue;
		if (o->dry_run) {
			fprintf(out, "would remove %s %s/%s\n", what, f->dir, e[i].name);
		} else {
			int e2 = e[i].dir                           ? files_remove_tree_at(f->fd, e[i].name) :
			         unlinkat(f->fd, e[i].name, 0) != 0 ? errno :
			                                              0;

			if (e2 != 0) {
				errno = e2;
				if (errno != ENOENT)
					gc_file_error(t, out, "cannot remove %s/%s: %s", f->dir, e[i].name,
					              strerror(errno));
				continue;
			}
			fprintf(out, "removed %s %s/%s\n", what, f->dir, e[i].name);
		}
		t->removed++;
		t->bytes += (long long)st.st_size;
	}
	return 0;
}

/*
 * Walks one folder, in batches of GC_BATCH candidates, each checked with the database and swept
 * before the next is read: memory stays bounded however many files there are. Removing entries
 * already returned does not make readdir skip others on Linux file systems; a file missed anyway
 * goes on the next run. Returns 0, or -1 on a database error or an unreadable folder (printed).
 */
static int gc_folder_run(struct db *db, const struct gc_folder *f, const struct gc_opts *o, time_t now,
                         FILE *out, struct gc_tally *t)
{
	struct gc_entry *batch;
	DIR *d = NULL;
	int fd, n = 0, rc = -1;

	batch = calloc(GC_BATCH, sizeof(*batch));
	if (batch == NULL) {
		fprintf(stderr, "mediactl: gc: out of memory\n");
		return -1;
	}
	fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0) {
		d = fdopendir(fd);
		if (d == NULL)
			close(fd);
	}
	if (d == NULL) {
		fprintf(stderr, "mediactl: gc: cannot read %s/: %s\n", f->dir, strerror(errno));
		goto out;
	}
	for (;;) {
		struct dirent *de;
		struct stat st;
		enum gc_kind kind;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				fprintf(stderr, "mediactl: gc: cannot read %s/: %s\n", f->dir,
				        strerror(errno));
				goto out;
			}
			break;
		}
		kind = gc_classify(de->d_name);
		if (kind == GC_SKIP)
			continue;
		if (fstatat(f->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				gc_file_error(t, out, "%s/%s: %s", f->dir, de->d_name, strerror(errno));
			continue;
		}
		/* lstat: a symbolic link is neither regular nor a folder, so it is neither followed nor
		 * removed. Folders: a rendition job's, in outputs/ only. */
		if (!(S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && strcmp(f->dir, "outputs") == 0)) ||
		    !gc_old(&st, now, o->older_than))
			continue;
		batch[n].dir = S_ISDIR(st.st_mode);
		snprintf(batch[n].name, sizeof(batch[n].name), "%s", de->d_name);
		batch[n].kind = kind;
		batch[n].dev = st.st_dev;
		batch[n].ino = st.st_ino;
		if (++n == GC_BATCH) {
			if (gc_batch(db, f, batch, n, o, now, out, t) != 0)
				goto out;
			n = 0;
		}
	}
	if (n > 0 && gc_batch(db, f, batch, n, o, now, out, t) != 0)
		goto out;
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	free(batch);
	return rc;
}

/*
 * Whether the file of media path rel is gone: 1 when it is, 0 when it is there or rel is not a
 * plain name in one of our folders (not ours to judge), -1 on another error (printed).
 */
static int gc_file_gone(const struct gc_folder fs[2], const char *rel, FILE *out, struct gc_tally *t)
{
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		size_t dl = strlen(fs[i].dir);
		const char *name;

		if (strncmp(rel, fs[i].dir, dl) != 0 || rel[dl] != '/')
			continue;
		name = rel + dl + 1;
		if (!gc_name_chars_ok(name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			return 0;
		if (fstatat(fs[i].fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		if (errno == ENOENT)
			return 1;
		gc_file_error(t, out, "%s: %s", rel, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Prints "missing: media ID PATH" for each media row whose file is gone, reading the table by
 * pages of GC_PAGE. A row deleted while we looked (its file goes after it) is not reported.
 * Returns 0, or -1 on a database error (printed).
 */
static int gc_missing(struct db *db, const struct gc_folder fs[2], FILE *out, struct gc_tally *t)
{
	char last[32] = "0";

	for (;;) {
		const char *params[1] = { last };
		struct pg_result *res;
		enum merr err;
		int i, rows;

		res = db_exec(db, "gc_media_page", 1, params, &err);
		if (res == NULL) {
			fprintf(stderr, "mediactl: gc: database error reading media rows (%s)\n",
			        merr_code(err));
			return -1;
		}
		rows = PQntuples(res);
		for (i = 0; i < rows; i++) {
			const char *row[2] = { PQgetvalue(res, i, 0), PQgetvalue(res, i, 1) };
			struct pg_result *still;
			int gone = gc_file_gone(fs, row[1], out, t);

			if (gone <= 0)
				continue;
			still = db_exec(db, "gc_media_still", 2, row, &err);
			if (still == NULL) {
				fprintf(stderr, "mediactl: gc: database error reading media rows (%s)\n",
				        merr_code(err));
				db_clear(res);
				return -1;
			}
			if (PQntuples(still) > 0) {
				fprintf(out, "missing: media %s %s\n", row[0], row[1]);
				t->missing++;
			}
			db_clear(still);
		}
		if (rows > 0)
			snprintf(last, sizeof(last), "%s", PQgetvalue(res, rows - 1, 0));
		db_clear(res);
		if (rows < GC_PAGE)
			return 0;
	}
}

/*
 * Removes one expired upload: its row, then its partial file, under the file's lock so that a
 * PATCH still writing it is left alone (the next run takes it). Returns 0, or -1 on a database
 * error (printed).
 */
static int gc_upload(struct db *db, const struct gc_folder *f, const char *id, const struct gc_opts *o,
                     FILE *out, struct gc_tally *t)
{
	const char *params[1] = { id };
	char name[GC_NAME_MAX + 1];
	struct pg_result *res;
	struct stat st;
	enum merr err;
	int fd;

	snprintf(name, sizeof(name), ".tus-%s.part", id);
	fd = openat(f->fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return 0;
	}
	if (fd >= 0 && fstat(fd, &st) != 0)
		st.st_size = 0;
	if (o->dry_run) {
		fprintf(out, "would remove expired upload %s\n", id);
		goto out;
	}
	res = db_exec(db, "gc_upload_delete", 1, params, &err);
	if (res == NULL) {
		fprintf(stderr, "mediactl: gc: database error removing upload %s (%s)\n", id, merr_code(err));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (PQntuples(res) == 0) {
		/* Gone or no longer expired meanwhile (the statement checks again): nothing to do. */
		db_clear(res);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	db_clear(res);
	if (fd >= 0 && unlinkat(f->fd, name, 0) != 0 && errno != ENOENT)
		gc_file_error(t, out, "cannot remove uploads/%s: %s", name, strerror(errno));
	fprintf(out, "removed expired upload %s\n", id);
out:
	t->removed++;
	if (fd >= 0) {
		t->bytes += (long long)st.st_size;
		close(fd);
	}
	return 0;
}

/* Removes every expired resumable upload (gc_upload), reading them by pages of GC_PAGE. Returns 0,
 * or -1 on a database error (printed). */
static int gc_uploads(struct db *db, const struct gc_folder *f, const struct gc_opts *o, FILE *out,
                      struct gc_tally *t)
{
	char last[40] = "00000000-0000-0000-0000-000000000000";

	for (;;) {
		const char *params[1] = { last };
		struct pg_result *res;
		enum merr err;
		int i, rows;

		res = db_exec(db, "gc_uploads_expired", 1, params, &err);
		if (res == NULL) {
			fprintf(stderr, "mediactl: gc: database error reading uploads (%s)\n",
			        merr_code(err));
			return -1;
		}
		rows = PQntuples(res);
		for (i = 0; i < rows; i++) {
			if (gc_upload(db, f, PQgetvalue(res, i, 0), o, out, t) != 0) {
				db_clear(res);
				return -1;
			}
		}
		if (rows > 0)
			snprintf(last, sizeof(last), "%s", PQgetvalue(res, rows - 1, 0));
		db_clear(res);
		if (rows < GC_PAGE)
			return 0;
	}
}

/* Runs stmt (removing at most page rows; its first column says how many, its second, if any, how
 * many more of another kind) until that is fewer than page; the counts are added to n[0] and
 * n[1]. Returns 0, or -1 on a database error (printed). */
static int gc_pages(struct db *db, const char *stmt, int nparams, const char *const *params, long long page,
                    long long n[2])
{
	for (;;) {
		struct pg_result *res;
		enum merr err;
		long long rows;

		res = db_exec(db, stmt, nparams, params, &err);
		if (res == NULL) {
			fprintf(stderr, "mediactl: gc: database error removing webhook rows (%s)\n",
			        merr_code(err));
			return -1;
		}
		rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		n[0] += rows;
		if (PQnfields(res) > 1)
			n[1] += strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		db_clear(res);
		if (rows < page)
			return 0;
	}
}

/* Removes the events without deliveries, reading them all by pages of GC_PAGE ids; the count is
 * added to *n. Returns 0, or -1 on a database error (printed). */
static int gc_webhook_events(struct db *db, long long *n)
{
	char last[40] = "00000000-0000-0000-0000-000000000000";

	for (;;) {
		const char *params[1] = { last };
		struct pg_result *res;
		enum merr err;
		long long read;

		res = db_exec(db, "gc_webhook_events", 1, params, &err);
		if (res == NULL) {
			fprintf(stderr, "mediactl: gc: database error removing webhook events (%s)\n",
			        merr_code(err));
			return -1;
		}
		*n += strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		read = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		if (read > 0)
			snprintf(last, sizeof(last), "%s", PQgetvalue(res, 0, 0));
		db_clear(res);
		if (read < GC_PAGE)
			return 0;
	}
}

/*
 * The webhook outbox, every statement bounded: deliveries finished (succeeded or failed) more
 * than o->webhook_retention seconds ago go, with their attempts and the events left without
 * deliveries; then every delivery of deleted endpoints, and those endpoints; then any other event
 * without deliveries. Prints one line of counts. Returns 0, or -1 on a database error (printed).
 */
static int gc_webhooks(struct db *db, const struct gc_opts *o, FILE *out)
{
	char secs[24];
	const char *params[1] = { secs };
	/* finished deliveries, events, deleted endpoints, their deliveries */
	long long old[2] = { 0, 0 }, hooks[2] = { 0, 0 }, of_hooks[2] = { 0, 0 };

	snprintf(secs, sizeof(secs), "%lld", o->webhook_retention);
	if (o->dry_run) {
		enum merr err;
		struct pg_result *res = db_exec(db, "gc_webhook_count", 1, params, &err);

		if (res == NULL) {
			fprintf(stderr, "mediactl: gc: database error counting webhook rows (%s)\n",
			        merr_code(err));
			return -1;
		}
		old[0] = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		hooks[0] = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		of_hooks[0] = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		old[1] = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		db_clear(res);
	} else if (gc_pages(db, "gc_webhook_deliveries", 1, params, GC_PAGE, old) != 0 ||
	           gc_pages(db, "gc_webhook_deleted_deliveries", 0, NULL, GC_HOOK_PAGE, of_hooks) != 0 ||
	           gc_pages(db, "gc_webhook_deleted", 0, NULL, GC_PAGE, hooks) != 0 ||
	           gc_webhook_events(db, &old[1]) != 0) {
		return -1;
	}
	fprintf(out,
	        "gc: webhooks: %lld deliveries finished over %llds ago, %lld deleted endpoints with %lld "
	        "deliveries, and %lld events %s\n",
	        old[0], o->webhook_retention, hooks[0], of_hooks[0], old[1] + of_hooks[1],
	        o->dry_run ? "would be removed" : "removed");
	return 0;
}

/* A folder gc cannot use: said on out at once (the report) and kept for the one line on stderr
 * (the first such fault). */
static __attribute__((format(printf, 4, 5))) void gc_folder_fault(char *fault, size_t len, FILE *out,
                                                                  const char *fmt, ...)
{
	char line[FILES_PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(out, "mediactl: gc: %s: its files are left alone this run\n", line);
	if (fault[0] == '\0')
		snprintf(fault, len, "%s", line);
}

int gc_run(struct db *db, const char *media_root, const struct gc_opts *o, FILE *out)
{
	struct gc_folder fs[2] = { { "uploads", -1 }, { "outputs", -1 } };
	bool usable[2] = { false, false }; /* opened, and writable unless a dry run */
	char fault[FILES_PATH_MAX + 256] = "";
	struct gc_tally t;
	time_t now = time(NULL);
	FILE *log_was = NULL;
	int i, rc = 1;

	memset(&t, 0, sizeof(t));
	/* A folder gc cannot use leaves its files alone (said once, not one line per file), and the
	 * run fails; what needs only the database (the webhook outbox) and the other folder still
	 * run, so a read-only media root never lets the outbox grow. */
	for (i = 0; i < 2; i++) {
		char p[FILES_PATH_MAX];
		int n = snprintf(p, sizeof(p), "%s/%s", media_root, fs[i].dir);

		if (n < 0 || (size_t)n >= sizeof(p)) {
			gc_folder_fault(fault, sizeof(fault), out, "media_root is too long");
			continue;
		}
		/* media_root and these two folders are the operator's: a link there is followed. */
		fs[i].fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fs[i].fd < 0) {
			gc_folder_fault(fault, sizeof(fault), out, "cannot open %s: %s", p, strerror(errno));
			continue;
		}
		if (!o->dry_run && faccessat(fs[i].fd, ".", W_OK | X_OK, 0) != 0) {
			gc_folder_fault(fault, sizeof(fault), out, "%s is not writable: %s", p,
			                strerror(errno));
			continue;
		}
		usable[i] = true;
	}
	/* The database's own log lines (db.c: a connection lost, why) belong with the report; stderr
	 * keeps one line per run that fails, for cron to mail. */
	log_was = log_set_stream(out);
	/* An expired upload's row goes before its file: never one without the other's folder. */
	if (usable[0] && gc_uploads(db, &fs[0], o, out, &t) != 0)
		goto out;
	for (i = 0; i < 2; i++)
		if (usable[i] && gc_folder_run(db, &fs[i], o, now, out, &t) != 0)
			goto out;
	/* Only reads the folders: they must be open, not writable. */
	if (fs[0].fd >= 0 && fs[1].fd >= 0 && gc_missing(db, fs, out, &t) != 0)
		goto out;
	if (gc_webhooks(db, o, out) != 0)
		goto out;
	fprintf(out, "gc: %lld %s (%lld bytes), %lld missing rows\n", t.removed,
	        o->dry_run ? "would be removed" : "removed", t.bytes, t.missing);
	rc = 0;
	if (fault[0] != '\0') {
		fprintf(stderr, "mediactl: gc: %s: its files were left alone (the rest ran)%s\n", fault,
		        t.errors > 0 ? "; and file(s) could not be read or removed: listed in the output" :
		                       "");
		rc = 1;
	} else if (t.errors > 0) {
		fprintf(stderr,
		        "mediactl: gc: %lld file(s) could not be read or removed: listed in the output\n",
		        t.errors);
		rc = 1;
	}
out:
	(void)log_set_stream(log_was);
	for (i = 0; i < 2; i++)
		if (fs[i].fd >= 0)
			close(fs[i].fd);
	return rc;
}
