/* fuzz_clientip.c: libFuzzer target for trusted-proxy lists and X-Forwarded-For resolution. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/clientip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input up to the first NUL is a proxy list, the rest an X-Forwarded-For value. The answer is
 * never longer than its buffer, and an untrusted REMOTE_ADDR is always the answer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr_list list;
	char err[128], out[CLIENTIP_ADDR_SIZE];
	char *s = malloc(size + 2);
	const char *xff;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	s[size + 1] = '\0';
	xff = s + strlen(s) + (strlen(s) < size ? 1 : 0);
	if (clientip_parse_trusted(s, &list, err, sizeof(err)) != 0 &&
	    clientip_parse_trusted("127.0.0.1/32", &list, err, sizeof(err)) != 0)
		abort();
	if (clientip_resolve(&list, "127.0.0.1", xff, out, sizeof(out)) == 0 && strlen(out) >= sizeof(out))
		abort();
	if (!clientip_is_trusted(&list, "198.51.100.7") &&
	    (clientip_resolve(&list, "198.51.100.7", xff, out, sizeof(out)) != 0 ||
	     strcmp(out, "198.51.100.7") != 0))
		abort();
	free(s);
	return 0;
}
