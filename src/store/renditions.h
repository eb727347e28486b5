/* renditions.h: what the rendition jobs made of a media (media_renditions, schema/007): HLS variants,
 * the poster and the storyboard, and where their files lie. */
#ifndef MEDIAD_RENDITIONS_H
#define MEDIAD_RENDITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"

struct db;
struct json_object;
struct pg_result;

/* Longest rendition name (schema: ^[a-z0-9]{1,16}$). */
#define RENDITION_NAME_MAX 16
/* Most HLS variants a master playlist lists; rows past it are left out (a preset makes a handful). */
#define RENDITIONS_MAX 32

/*
 * The row, one line per column (rows.h). The JSON of a media's renditions is not made from this
 * table but by RENDITIONS_JSON_SQL below, so the keys are NULL here.
 */
/* clang-format off */
#define RENDITION_COLUMNS(FIRST, COL)                                                                  \
	/* hls | poster | storyboard */                                                                \
	FIRST(kind,            ROW_STR(16),                     "kind",             NULL, ROW_NOTNULL)    \
	COL(name,              ROW_STR(RENDITION_NAME_MAX + 1), "name",             NULL, ROW_NOTNULL)    \
	/* the job's folder, relative to the media root: outputs/<job uuid> */                         \
	COL(dir,               ROW_STR(48),                     "dir",              NULL, ROW_NOTNULL)    \
	/* relative to dir: <name>/index.m3u8, poster.jpg, storyboard.vtt */                            \
	COL(path,              ROW_STR(64),                     "path",             NULL, ROW_NOTNULL)    \
	COL(width,             ROW_INT,                         "width",            NULL, ROW_NULL(-1))   \
	COL(height,            ROW_INT,                         "height",           NULL, ROW_NULL(-1))   \
	/* bits per second: peak (HLS BANDWIDTH) and average */                                         \
	COL(bandwidth,         ROW_INT,                         "bandwidth",        NULL, ROW_NULL(-1))   \
	COL(average_bandwidth, ROW_INT,                         "average_bandwidth", NULL, ROW_NULL(-1))  \
	COL(codecs,            ROW_STR(65),                     "codecs",           NULL, ROW_NULL_EMPTY) \
	/* as PostgreSQL writes numeric(7,3): "25.000" */                                               \
	COL(frame_rate,        ROW_STR(16),                     "frame_rate::text", NULL, ROW_NULL_EMPTY) \
	COL(size_bytes,        ROW_INT,                         "size_bytes",       NULL, ROW_NOTNULL)
/* clang-format on */

struct rendition {
	ROW_STRUCT(RENDITION_COLUMNS)
};

#define RENDITION_SELECT ROW_SELECT(RENDITION_COLUMNS)

/*
 * The select expressions of the JSON arrays of the renditions and of the rendition jobs of the
 * media whose id is the SQL expression media_id: SQL functions of schema/009
 * (media_renditions_json, media_rendition_jobs_json), which say what they hold, so that media
 * lists (a column of media_list), GET /media/:id (renditions_json) and the webhook events of
 * schema/009 (which keep them as they were) show one shape from one definition. A /media upload's
 * jobs have no project, so the rendition jobs are where a client finds their ids (for GET and
 * DELETE /jobs/:id).
 */
#define RENDITIONS_JSON_SQL(media_id) "media_renditions_json(" media_id ")"
/* RENDITIONS_JSON_SQL of the media row of a statement over the table media. */
#define RENDITIONS_JSON_OF_MEDIA RENDITIONS_JSON_SQL("media.id")
#define RENDITION_JOBS_JSON_SQL(media_id) "media_rendition_jobs_json(" media_id ")"
#define RENDITION_JOBS_JSON_OF_MEDIA RENDITION_JOBS_JSON_SQL("media.id")

/* The statement of renditions_json, in the table of each program that calls it (mediad's
 * statements.c, media-hooks' hooks/outbox.c). */
#define RENDITIONS_JSON_STMT                                                                      \
	{                                                                                         \
		"renditions_json",                                                                \
		        "SELECT " RENDITIONS_JSON_SQL("$1::bigint") ", " RENDITION_JOBS_JSON_SQL( \
		                "$1::bigint"),                                                    \
		        1                                                                         \
	}

/* Which kinds a media has (renditions_kinds): an HLS variant, the poster, the storyboard. */
enum rendition_kind_bits {
	RENDITION_HAS_HLS = 1 << 0,
	RENDITION_HAS_POSTER = 1 << 1,
	RENDITION_HAS_STORYBOARD = 1 << 2,
};

/*
 * The renditions of media_id of one kind (NULL: all), by bandwidth (lowest first; rows without
 * one last), then name: at most max rows into out, their number into *n (0 is no error).
 */
enum merr renditions_list(struct db *db, int64_t media_id, const char *kind, struct rendition *out, int max,
                          int *n) __attribute__((warn_unused_result));
/* The rendition (media_id, kind, name) into *out; none is MERR_NOT_FOUND. */
enum merr renditions_get(struct db *db, int64_t media_id, const char *kind, const char *name,
                         struct rendition *out) __attribute__((warn_unused_result));
/* Which renditions media_id has, as rendition_kind_bits, into *kinds (0: none). One query. */
enum merr renditions_kinds(struct db *db, int64_t media_id, unsigned *kinds)
        __attribute__((warn_unused_result));
/* The JSON arrays of media_id's renditions (RENDITIONS_JSON_SQL) and of its rendition jobs
 * (RENDITION_JOBS_JSON_SQL) into *out and *jobs, which the caller owns (both NULL on error). */
enum merr renditions_json(struct db *db, int64_t media_id, struct json_object **out,
                          struct json_object **jobs) __attribute__((warn_unused_result));
/* Column col of row i of r, a RENDITIONS_JSON_SQL array, parsed: the caller owns it; NULL on out of
 * memory or when it is not a JSON array. */
struct json_object *renditions_json_column(struct pg_result *r, int i, int col);

/* Whether s is a rendition name: 1 to RENDITION_NAME_MAX of [a-z0-9]. */
bool renditions_name_ok(const char *s);
/*
 * Joins the media root, r's folder and rel (a path inside the package: "poster.jpg",
 * "720p/seg_00003.m4s") into out. False, out unusable, when r->dir is not outputs/<uuid>, rel is
 * not one or two names of [a-z0-9_.-] (none starting with '.'), or out is too small: nothing that
 * is not a file of the package can come out of it.
 */
bool renditions_abs(const char *root, const struct rendition *r, const char *rel, char *out, size_t outlen)
        __attribute__((warn_unused_result));

#endif
