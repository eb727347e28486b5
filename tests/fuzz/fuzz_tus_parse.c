/* fuzz_tus_parse.c: libFuzzer target for the tus header parsers (Upload-Metadata, Upload-Checksum,
 * Upload-Offset, Content-Type). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/tus_parse.h"

/* The whole input is each header value in turn; what a parser accepts must be what it says. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tus_metadata m;
	struct tus_checksum c;
	char *s = malloc(size + 1);
	int64_t n = -1;
	int k;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (tus_parse_metadata(s, &m) == TUS_META_OK) {
		FUZZ_CHECK(strlen(s) <= TUS_METADATA_MAX);
		for (k = 0; k < TUS_META_KEYS; k++) {
			FUZZ_CHECK(m.value[k].len <= TUS_META_VALUE_MAX);
			FUZZ_CHECK(strlen(m.value[k].v) == m.value[k].len);
			FUZZ_CHECK(m.value[k].present || m.value[k].len == 0);
		}
	}
	if (tus_parse_checksum(s, &c) == TUS_CHECKSUM_OK)
		FUZZ_CHECK((c.alg == TUS_CHECKSUM_SHA1 && c.len == 20) ||
		           (c.alg == TUS_CHECKSUM_SHA256 && c.len == 32));
	if (tus_parse_number(s, &n))
		FUZZ_CHECK(n >= 0 && s[0] >= '0' && s[0] <= '9');
	(void)tus_content_type_ok(s);
	free(s);
	return 0;
}
