/* gc.h: `mediactl gc`: removes stale temp files and files no media row points at; reports rows
 * whose file is gone. */
#ifndef MEDIAD_GC_H
#define MEDIAD_GC_H

#include <stdbool.h>
#include <stdio.h>

#include "store/db.h"

/*
 * The youngest file gc may remove, seconds. A render's temp file is written by ffmpeg and an
 * upload's by mediad; a shorter bound could remove one of them mid-write.
 */
#define GC_MIN_AGE 60
#define GC_DEFAULT_AGE 3600
/* The oldest bound accepted (3650 days): keeps the arithmetic far from overflow. */
#define GC_MAX_AGE (3650LL * 86400)

struct gc_opts {
	long long older_than;        /* seconds: only files whose mtime is older are removed */
	bool dry_run;                /* print what would be removed, remove nothing */
	long long webhook_retention; /* seconds a finished webhook delivery is kept (webhook_retention) */
};

/* The statements gc_run uses: pass them to db_new. */
extern const struct db_stmt gc_statements[];
extern const int gc_statements_count;

/*
 * Parses DURATION: digits with an optional unit s, m, h or d (plain digits are seconds), e.g.
 * "30s", "10m", "2h", "7d", "3600". Returns 0 with the seconds in *secs, or -1 when s is not one
 * or is above GC_MAX_AGE. The GC_MIN_AGE floor is the caller's to enforce (it has its own message).
 */
int gc_parse_duration(const char *s, long long *secs) __attribute__((warn_unused_result));

/*
 * Collects garbage under media_root/uploads and media_root/outputs: removes (unless o->dry_run)
 * every expired resumable upload (its row, then its partial file uploads/.tus-<id>.part, whatever
 * its age, unless a PATCH holds it), then every regular file older than o->older_than that is a temp file (".tmp-*") or that no media row
 * names, except what an unfinished render job still needs; prints one line per file to out, then
 * "missing: media ID PATH" for each media row whose file is gone, then a summary line. A file that
 * cannot be read or removed is listed on out too ("mediactl: gc: ...") and the run goes on; log
 * lines (the database's) go to out while it runs. stderr gets exactly one line when the run fails
 * (cron mails it) and none when it succeeds: a database error, a folder that cannot be opened or
 * written (checked first, said once on out too: its files are left alone, while the other folder
 * and the database-only webhook cleanup still run), or the count of files that could not be read
 * or removed. Returns 0, or 1 after such a failure (what was removed before it stays removed;
 * nothing is removed without the database having been asked first).
 */
int gc_run(struct db *db, const char *media_root, const struct gc_opts *o, FILE *out)
        __attribute__((warn_unused_result));

#endif
