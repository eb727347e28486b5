/* jobs.c: render job rows for the API, through prepared statements (see statements.c), shaped by
 * JOB_COLUMNS. */
#include "config.h"

#include "store/jobs.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/params.h"
#include "store/rows.h"

/* Rendition presets one upload may enqueue (config.h's CONFIG_RENDITIONS_MAX), and their ids. */
#define REND_IDS_MAX 8
#define REND_IDS_SIZE (REND_IDS_MAX * (JOB_ID_LEN + 1) + 4)

static const struct row_col job_cols[] = { ROW_JSON_COLS(JOB_COLUMNS) };
static const struct row_table job_table = ROW_TABLE(job_cols);
#define JOB_INPUT_COL(...) ROW_COL(struct job_input, __VA_ARGS__)
static const struct row_col job_input_cols[] = { JOB_INPUT_COLUMNS(JOB_INPUT_COL, JOB_INPUT_COL) };
static const struct row_table job_input_table = ROW_TABLE(job_input_cols);

bool job_id_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != JOB_ID_LEN)
		return false;
	for (i = 0; i < JOB_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* A random (version 4) UUID. */
static void uuid4(char out[JOB_ID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, JOB_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
}

enum merr jobs_pick_input(struct db *db, int64_t user_id, int64_t project_id, int64_t asset_id,
                          struct job_input *in)
{
	struct params p = PARAMS_INIT;

	params_int(&p, project_id);
	params_int(&p, user_id);
	params_int_or_null(&p, asset_id, 0);
	return row_one(db, "jobs_pick_input", &p, &job_input_table, in);
}

enum merr jobs_enqueue(struct db *db, int64_t user_id, int64_t project_id, const struct job_input *in,
                       const char *preset, const char *ext, int max_attempts, long long max_queued,
                       char id[JOB_ID_LEN + 1], char *output, size_t outlen)
{
	struct params p = PARAMS_INIT, lock = PARAMS_INIT;
	enum merr err;
	PGresult *r;

	uuid4(id);
	/* Output names come from the job's UUID: two jobs can never write the same file. A rendition
	 * preset (no extension) writes the folder outputs/<id>. */
	if (ext[0] == '\0')
		snprintf(output, outlen, "outputs/%s", id);
	else
		snprintf(output, outlen, "outputs/%s-rendered.%s", id, ext);
	params_str(&p, id);
	params_int(&p, user_id);
	params_int_or_null(&p, project_id, 0); /* 0: a /media upload's rendition, no project */
	params_int(&p, in->media_id);
	params_str(&p, in->path);
	params_str(&p, output);
	params_str(&p, preset);
	params_int(&p, max_attempts);
	params_int(&p, max_queued);
	params_int(&lock, user_id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	err = row_run(db, "users_lock", &lock);
	if (err != MERR_OK)
		goto out;
	r = row_exec(db, "jobs_enqueue", &p, &err);
	if (r == NULL)
		goto out;
	/* No row: the user already has max_queued jobs open. */
	err = PQntuples(r) == 1 ? MERR_OK : MERR_RATE_LIMITED;
	PQclear(r);
out:
	return db_end(db, err);
}

enum merr jobs_enqueue_renditions(struct db *db, int64_t media_id, const char *presets, int max_attempts)
{
	struct params p = PARAMS_INIT;
	char ids[REND_IDS_SIZE], id[JOB_ID_LEN + 1];
	size_t o = 0, i, n = 1;

	for (i = 0; presets[i] != '\0'; i++)
		n += presets[i] == ',';
	if (n > REND_IDS_MAX)
		return MERR_INTERNAL;
	/* One new UUID per preset, as a uuid[] literal. */
	ids[o++] = '{';
	for (i = 0; i < n; i++) {
		uuid4(id);
		o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%s", i ? "," : "", id);
	}
	snprintf(ids + o, sizeof(ids) - o, "}");
	params_int(&p, media_id);
	params_str(&p, presets);
	params_int(&p, max_attempts);
	params_str(&p, ids);
	return row_run(db, "jobs_enqueue_renditions", &p);
}

enum merr jobs_get(struct db *db, int64_t user_id, const char *id, struct json_object **out)
{
	struct params p = PARAMS_INIT;

	params_str(&p, id);
	params_int(&p, user_id);
	return row_one_json(db, "jobs_get", &p, &job_table, out);
}

enum merr jobs_snapshot_json(struct db *db, const char *subject, struct json_object **out)
{
	struct params p = PARAMS_INIT;

	params_str(&p, subject);
	return row_one_json(db, "jobs_snapshot", &p, &job_table, out);
}

enum merr jobs_list(struct db *db, int64_t user_id, int64_t project_id, int64_t limit, int64_t offset,
                    struct json_object **items, int64_t *total)
{
	struct params p = PARAMS_INIT;

	params_int(&p, project_id);
	params_int(&p, user_id);
	params_int(&p, limit);
	params_int(&p, offset);
	return row_list_json(db, "jobs_list", "jobs_count", 2, &p, &job_table, items, total);
}

enum merr jobs_cancel(struct db *db, int64_t user_id, const char *id)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	params_str(&p, id);
	params_int(&p, user_id);
	err = row_exec_one(db, "jobs_cancel", &p, &r);
	if (err != MERR_OK)
		return err;
	/* The statement reports the state the job was in before. */
	err = strcmp(PQgetvalue(r, 0, 0), "waiting") == 0 || strcmp(PQgetvalue(r, 0, 0), "active") == 0 ?
	              MERR_OK :
	              MERR_CONFLICT;
	PQclear(r);
	return err;
}
