/* fuzz_token.c: libFuzzer target for the login-token verifier. */
#include "config.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No input the fuzzer makes up can carry an HMAC under this secret: nothing may ever verify. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "fuzzing-secret-fuzzing-secret-fuzzing";
	struct token_claims c;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	if (sodium_init() < 0)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (token_verify(secret, s, 1800000000, &c) == TOKEN_OK)
		abort();
	free(s);
	return 0;
}
