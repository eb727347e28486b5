/* fuzz_query.c: libFuzzer target for percent-decoding and query strings. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed query never holds more pairs than the cap, and every key and value is a C string. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	struct buf b = BUF_INIT;
	char *s = malloc(size + 1);
	size_t i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&q, 0, sizeof(q));
	if (query_parse(s, &q) == 0) {
		if (q.n > QUERY_MAX_PARAMS)
			abort();
		for (i = 0; i < q.n; i++)
			if (q.kv[i].key == NULL || q.kv[i].value == NULL)
				abort();
		(void)query_get(&q, "limit");
	}
	query_free(&q);
	if (url_decode(s, size, true, &b) == 0 && b.len > size)
		abort();
	buf_free(&b);
	free(s);
	return 0;
}
