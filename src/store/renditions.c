/* renditions.c: media_renditions rows through prepared statements (see statements.c). */
#include "config.h"

#include "store/renditions.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "store/params.h"

#define RENDITION_COL(...) ROW_COL(struct rendition, __VA_ARGS__)
static const struct row_col rendition_cols[] = { RENDITION_COLUMNS(RENDITION_COL, RENDITION_COL) };
static const struct row_table rendition_table = ROW_TABLE(rendition_cols);

/* "outputs/" and a job's uuid: the only folder a rendition row may name (schema/007's check). */
#define RENDITION_DIR_PREFIX "outputs/"
#define RENDITION_UUID_LEN 36
/* Longest name inside a package folder ("seg_000000003.m4s", "index.m3u8"). */
#define RENDITION_FILE_MAX 64

enum merr renditions_list(struct db *db, int64_t media_id, const char *kind, struct rendition *out, int max,
                          int *n)
{
	struct params p = PARAMS_INIT;
	enum merr err;
	PGresult *r;
	int i;

	*n = 0;
	if (max <= 0)
		return MERR_OK;
	params_int(&p, media_id);
	params_str(&p, kind);
	params_int(&p, max);
	r = row_exec(db, "renditions_list", &p, &err);
	if (r == NULL)
		return err;
	for (i = 0; i < PQntuples(r) && i < max; i++)
		row_fill(&out[i], &rendition_table, r, i);
	*n = i;
	PQclear(r);
	return MERR_OK;
}

enum merr renditions_get(struct db *db, int64_t media_id, const char *kind, const char *name,
                         struct rendition *out)
{
	struct params p = PARAMS_INIT;

	params_int(&p, media_id);
	params_str(&p, kind);
	params_str(&p, name);
	return row_one(db, "renditions_get", &p, &rendition_table, out);
}

enum merr renditions_kinds(struct db *db, int64_t media_id, unsigned *kinds)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	*kinds = 0;
	params_int(&p, media_id);
	/* Aggregates: always one row. */
	err = row_exec_one(db, "renditions_kinds", &p, &r);
	if (err != MERR_OK)
		return err;
	if (PQgetvalue(r, 0, 0)[0] == 't')
		*kinds |= RENDITION_HAS_HLS;
	if (PQgetvalue(r, 0, 1)[0] == 't')
		*kinds |= RENDITION_HAS_POSTER;
	if (PQgetvalue(r, 0, 2)[0] == 't')
		*kinds |= RENDITION_HAS_STORYBOARD;
	PQclear(r);
	return MERR_OK;
}

struct json_object *renditions_json_column(PGresult *r, int i, int col)
{
	struct json_tokener *tok;
	struct json_object *a;

	if (col >= PQnfields(r) || PQgetisnull(r, i, col))
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	a = json_tokener_parse_ex(tok, PQgetvalue(r, i, col), PQgetlength(r, i, col));
	json_tokener_free(tok);
	if (a != NULL && !json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		a = NULL;
	}
	return a;
}

enum merr renditions_json(struct db *db, int64_t media_id, struct json_object **out,
                          struct json_object **jobs)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	*out = *jobs = NULL;
	params_int(&p, media_id);
	err = row_exec_one(db, "renditions_json", &p, &r);
	if (err != MERR_OK)
		return err;
	*out = renditions_json_column(r, 0, 0);
	*jobs = renditions_json_column(r, 0, 1);
	PQclear(r);
	if (*out != NULL && *jobs != NULL)
		return MERR_OK;
	json_object_put(*out);
	json_object_put(*jobs);
	*out = *jobs = NULL;
	return MERR_INTERNAL;
}

bool renditions_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= RENDITION_NAME_MAX ||
		    !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return i > 0;
}

/* Whether dir is "outputs/" and 36 characters of [0-9a-f-], as schema/007 checks it. */
static bool rendition_dir_ok(const char *dir)
{
	const char *u = dir + strlen(RENDITION_DIR_PREFIX);
	size_t i;

	if (strncmp(dir, RENDITION_DIR_PREFIX, strlen(RENDITION_DIR_PREFIX)) != 0)
		return false;
	for (i = 0; u[i] != '\0'; i++)
		if (i >= RENDITION_UUID_LEN ||
		    !((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f') || u[i] == '-'))
			return false;
	return i == RENDITION_UUID_LEN;
}

/* Whether s[0..n) is a name of a package folder or file: [a-z0-9_.-], not starting with '.'. */
static bool rendition_part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > RENDITION_FILE_MAX || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

bool renditions_abs(const char *root, const struct rendition *r, const char *rel, char *out, size_t outlen)
{
	const char *slash = strchr(rel, '/');
	int n;

	if (!rendition_dir_ok(r->dir))
		return false;
	if (slash == NULL) {
		if (!rendition_part_ok(rel, strlen(rel)))
			return false;
	} else if (!rendition_part_ok(rel, (size_t)(slash - rel)) ||
	           !rendition_part_ok(slash + 1, strlen(slash + 1))) {
		/* The second name holds no '/' either: a part has none. */
		return false;
	}
	n = snprintf(out, outlen, "%s/%s/%s", root, r->dir, rel);
	return n > 0 && (size_t)n < outlen;
}
