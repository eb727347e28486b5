/* projects.h: project rows, always scoped to their owner. */
#ifndef MEDIAD_PROJECTS_H
#define MEDIAD_PROJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"
#include "util/buf.h"

struct db;
struct json_object;

/* The project row, one line per column (rows.h): the select list (PROJECT_SELECT) and the JSON. */
/* clang-format off */
#define PROJECT_COLUMNS(FIRST, COL)                                                     \
	FIRST(id,        ROW_INT,  "id",                 "id",          ROW_NOTNULL)    \
	COL(title,       ROW_TEXT, "title",              "title",       ROW_NOTNULL)    \
	COL(description, ROW_TEXT, "description",        "description", ROW_NULL_EMPTY) \
	COL(user_id,     ROW_INT,  "user_id",            "userId",      ROW_NOTNULL)    \
	COL(created_at,  ROW_TEXT, SQL_TS("created_at"), "createdAt",   ROW_NOTNULL)    \
	COL(updated_at,  ROW_TEXT, SQL_TS("updated_at"), "updatedAt",   ROW_NOTNULL)
/* clang-format on */
#define PROJECT_SELECT ROW_SELECT(PROJECT_COLUMNS)

/*
 * Every function takes the caller's user id: another user's project is MERR_NOT_FOUND, exactly like
 * a missing one. JSON results ({id, title, description, userId, createdAt, updatedAt}) are owned by
 * the caller.
 */
enum merr projects_create(struct db *db, int64_t user_id, const char *title, const char *description,
                          struct json_object **out) __attribute__((warn_unused_result));
enum merr projects_get(struct db *db, int64_t user_id, int64_t id, struct json_object **out)
        __attribute__((warn_unused_result));
/* MERR_OK when the project exists and belongs to user_id. */
enum merr projects_check_owner(struct db *db, int64_t user_id, int64_t id)
        __attribute__((warn_unused_result));
enum merr projects_list(struct db *db, int64_t user_id, int64_t limit, int64_t offset,
                        struct json_object **items, int64_t *total) __attribute__((warn_unused_result));
/* title NULL keeps the title; set_description false keeps the description (NULL clears it). */
enum merr projects_update(struct db *db, int64_t user_id, int64_t id, const char *title, bool set_description,
                          const char *description, struct json_object **out)
        __attribute__((warn_unused_result));
/*
 * Deletes the project and, by cascade, its media rows and jobs, in one transaction. paths receives
 * the media-root-relative paths of the files those rows owned, NUL-separated, for the caller to
 * remove after the commit, then their rendition folders, each with a trailing '/'; media_ids the
 * media ids (decimal, NUL-separated), for the caches.
 */
enum merr projects_delete(struct db *db, int64_t user_id, int64_t id, struct buf *paths,
                          struct buf *media_ids) __attribute__((warn_unused_result));

#endif
