/* sqlfmt.h: SQL fragments shared by the store modules. */
#ifndef MEDIAD_SQLFMT_H
#define MEDIAD_SQLFMT_H

/* A timestamptz column as RFC 3339 UTC with milliseconds: 2025-09-28T11:49:54.416Z */
#define SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A timestamptz column as whole Unix seconds (bigint), e.g. for Last-Modified. */
#define SQL_EPOCH(col) "extract(epoch FROM date_trunc('second', " col "))::bigint"

#endif
