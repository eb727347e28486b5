/* login_failures.c: the account lock's counter in PostgreSQL (no Redis): one upsert per failed
 * login, one delete per success, each pruning a bounded number of finished windows. */
#include "config.h"

#include "store/login_failures.h"

#include <libpq-fe.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/params.h"
#include "store/rows.h"

enum merr login_failures_hit(struct db *db, const char *key_hex, long long window_s, long long *count,
                             long long *ttl_s)
{
	struct params p = PARAMS_INIT;
	struct pg_result *r = NULL;
	enum merr err;

	params_str(&p, key_hex);
	params_int(&p, window_s);
	err = row_exec_one(db, "login_failures_hit", &p, &r);
	if (err != MERR_OK)
		return err;
	*count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*ttl_s = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

enum merr login_failures_clear(struct db *db, const char *key_hex, long long window_s)
{
	struct params p = PARAMS_INIT;

	params_str(&p, key_hex);
	params_int(&p, window_s);
	return row_run(db, "login_failures_clear", &p);
}
