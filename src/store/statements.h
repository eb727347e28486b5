/* statements.h: the one table of prepared statements, prepared on every connection. */
#ifndef MEDIAD_STATEMENTS_H
#define MEDIAD_STATEMENTS_H

#include "store/db.h"

extern const struct db_stmt store_statements[];
extern const int store_statements_count;

#endif
