/* params.h: the text parameters of one prepared statement, numbers formatted in place. */
#ifndef MEDIAD_PARAMS_H
#define MEDIAD_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

/* More than any statement of ours takes; params_* assert that it is not passed. */
#define PARAMS_MAX 16

/*
 * Filled in statement order, then handed to db_exec as (p.n, p.values). values[i] is NULL for SQL
 * NULL, points into num[i] for a number, and is the caller's own string otherwise (it must outlive
 * the db_exec). values point into the struct itself: never copy one, pass its address.
 */
struct params {
	const char *values[PARAMS_MAX];
	int n;
	char num[PARAMS_MAX][24];
};
#define PARAMS_INIT    \
	{              \
		.n = 0 \
	}

/* Appends v as decimal text. */
void params_int(struct params *p, int64_t v);
/* Appends v, or SQL NULL when v <= none: none is the value that means "no value" (0 for an absent
 * id, -1 for an unknown duration). */
void params_int_or_null(struct params *p, int64_t v, int64_t none);
/* Appends s as it is (NULL is SQL NULL); s is not copied. */
void params_str(struct params *p, const char *s);
/* Appends s, or SQL NULL when s is "". */
void params_str_or_null(struct params *p, const char *s);
/* Appends a boolean ("t" or "f"). */
void params_bool(struct params *p, bool b);
/* Appends SQL NULL. */
void params_null(struct params *p);

#endif
