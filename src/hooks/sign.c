/* sign.c: HMAC-SHA256 signatures of webhook bodies (sign.h). */
#include "config.h"

#include "hooks/sign.h"

#include <sodium.h>
#include <stdio.h>

int sign_header(const char *secret, size_t secret_len, long long t, const char *body, size_t body_len,
                char *out, size_t outlen)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char ts[24], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	int n;

	if (outlen < SIGN_HEADER_MAX)
		return -1;
	n = snprintf(ts, sizeof(ts), "%lld.", t);
	/* Any key length: libsodium hashes a key longer than the block, as HMAC says. */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, (unsigned long long)body_len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
	snprintf(out, outlen, "t=%lld,v1=%s", t, hex);
	return 0;
}
