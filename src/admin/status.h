/* status.h: `mediactl status`: the render system at a glance, for an operator and for grep. */
#ifndef MEDIAD_STATUS_H
#define MEDIAD_STATUS_H

#include <stdio.h>

#include "store/db.h"

/* status_run's answer when jobs are ready and no spawner has been seen for STATUS_STALE_S. */
#define STATUS_ALERT 3
/* A spawner seen within this many seconds is listed. */
#define STATUS_SEEN_S 60
/* With ready jobs and no spawner seen within this many seconds, status alerts. */
#define STATUS_STALE_S 120

/* The statements status_run uses: pass them to db_new. */
extern const struct db_stmt status_statements[];
extern const int status_statements_count;

/*
 * Prints, from one snapshot of the database: jobs per state, the ready queue and its oldest job,
 * the active jobs, the spawners seen lately, and the last hour's failures by reason; then an
 * ALERT line when jobs are ready and no spawner was seen for STATUS_STALE_S. Text from the
 * database is printed with control characters replaced by '?', one item per line.
 * Returns 0, STATUS_ALERT, or 1 on a database error (printed to stderr).
 */
int status_run(struct db *db, FILE *out) __attribute__((warn_unused_result));

#endif
