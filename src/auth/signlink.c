/* signlink.c: signing and checking stream links with libsodium (see signlink.h). */
#include "config.h"

#include "auth/signlink.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Domain separation: bump the version if the message layout ever changes. */
#define SIGNLINK_DOMAIN "mediad-stream-v1"
#define SIGNLINK_PATH_DOMAIN "mediad-hls-v1"
/* crypto_kdf context: exactly crypto_kdf_CONTEXTBYTES (8) characters. */
#define SIGNLINK_KDF_CONTEXT "mediastr"
#define SIGNLINK_KDF_SUBKEY_ID 1
/* Room for the longer domain, three newlines, two int64 decimals with signs and a path. */
#define SIGNLINK_MSG_SIZE (sizeof(SIGNLINK_DOMAIN) + 3 + 2 * 20 + SIGNLINK_PATH_MAX + 1)

_Static_assert(crypto_auth_hmacsha256_BYTES == 32, "crypto_verify_32 needs a 32-byte MAC");
_Static_assert(crypto_auth_hmacsha256_KEYBYTES == SIGNLINK_KEY_LEN, "key size");
_Static_assert(sizeof(SIGNLINK_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context size");
_Static_assert(sizeof(SIGNLINK_PATH_DOMAIN) <= sizeof(SIGNLINK_DOMAIN), "SIGNLINK_MSG_SIZE");

/* Whether path may be signed: present, non-empty, at most SIGNLINK_PATH_MAX bytes. */
static bool signlink_path_ok(const char *path)
{
	return path != NULL && path[0] != '\0' && strnlen(path, SIGNLINK_PATH_MAX + 1) <= SIGNLINK_PATH_MAX;
}

/*
 * Computes the MAC of (media_id, expires), or with a path (non-NULL, signlink_path_ok) of
 * (media_id, expires, path) in the path domain. Returns 0 or -1.
 */
static int signlink_mac(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id, int64_t expires,
                        const char *path, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	char msg[SIGNLINK_MSG_SIZE];
	int len;

	if (path == NULL)
		len = snprintf(msg, sizeof(msg), SIGNLINK_DOMAIN "\n%" PRId64 "\n%" PRId64, media_id,
		               expires);
	else
		len = snprintf(msg, sizeof(msg), SIGNLINK_PATH_DOMAIN "\n%" PRId64 "\n%" PRId64 "\n%s",
		               media_id, expires, path);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return -1;
	return crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (unsigned long long)len, key);
}

/* Signs (media_id, expires) or, with a path, (media_id, expires, path): see signlink_sign. */
static int signlink_sign_any(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id, int64_t expires,
                             const char *path, char *sig_out, size_t n)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	int rc = -1;

	if (sig_out == NULL || n == 0)
		return -1;
	sig_out[0] = '\0';
	/* sodium_bin2base64 aborts on a short buffer, so check first. */
	if (n < sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		goto out;
	if (signlink_mac(key, media_id, expires, path, mac) != 0)
		goto out;
	sodium_bin2base64(sig_out, n, mac, sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc = 0;
out:
	sodium_memzero(mac, sizeof(mac));
	return rc;
}

int signlink_sign(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id, int64_t expires, char *sig_out,
                  size_t n)
{
	return signlink_sign_any(key, media_id, expires, NULL, sig_out, n);
}

int signlink_sign_path(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id, int64_t expires,
                       const char *path, char *sig_out, size_t n)
{
	if (!signlink_path_ok(path)) {
		if (sig_out != NULL && n > 0)
			sig_out[0] = '\0';
		return -1;
	}
	return signlink_sign_any(key, media_id, expires, path, sig_out, n);
}

/* Parses canonical non-negative decimal (no sign, no leading zero) that fits an int64_t. */
static bool signlink_parse_expires(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		int d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Decodes exactly SIGNLINK_SIG_LEN canonical base64url characters into 32 bytes. */
static bool signlink_decode_sig(const char *s, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	const char *end = NULL;
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, SIGNLINK_SIG_LEN + 1);
	if (len != SIGNLINK_SIG_LEN)
		return false;
	if (sodium_base642bin(mac, crypto_auth_hmacsha256_BYTES, s, len, NULL, &len, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	return len == crypto_auth_hmacsha256_BYTES && end == s + SIGNLINK_SIG_LEN;
}

/* Checks a signature of (media_id, expires) or, with a path, (media_id, expires, path): see
 * signlink_verify. */
static enum signlink_result signlink_check(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id,
                                           const char *path, const char *expires_str, const char *sig_str,
                                           int64_t now, int64_t leeway)
{
	unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
	enum signlink_result res = SIGNLINK_BAD;
	int64_t expires;

	if (!signlink_parse_expires(expires_str, &expires) || !signlink_decode_sig(sig_str, got))
		goto out;
	if (signlink_mac(key, media_id, expires, path, want) != 0)
		goto out;
	if (crypto_verify_32(got, want) != 0)
		goto out;
	if (leeway < 0)
		leeway = 0;
	/* now - expires cannot overflow: expires >= 0 and now > expires. */
	if (now > expires && now - expires > leeway)
		res = SIGNLINK_EXPIRED;
	else
		res = SIGNLINK_OK;
out:
	sodium_memzero(want, sizeof(want));
	return res;
}

enum signlink_result signlink_verify(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id,
                                     const char *expires_str, const char *sig_str, int64_t now,
                                     int64_t leeway)
{
	return signlink_check(key, media_id, NULL, expires_str, sig_str, now, leeway);
}

enum signlink_result signlink_verify_path(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id,
                                          const char *path, const char *expires_str, const char *sig_str,
                                          int64_t now, int64_t leeway)
{
	if (!signlink_path_ok(path))
		return SIGNLINK_BAD;
	return signlink_check(key, media_id, path, expires_str, sig_str, now, leeway);
}

int signlink_derive_key(const char *jwt_secret, unsigned char key[SIGNLINK_KEY_LEN])
{
	unsigned char master[crypto_kdf_KEYBYTES];
	int rc = -1;

	sodium_memzero(key, SIGNLINK_KEY_LEN);
	if (jwt_secret == NULL || jwt_secret[0] == '\0')
		goto out;
	if (crypto_generichash(master, sizeof(master), (const unsigned char *)jwt_secret, strlen(jwt_secret),
	                       NULL, 0) != 0)
		goto out;
	if (crypto_kdf_derive_from_key(key, SIGNLINK_KEY_LEN, SIGNLINK_KDF_SUBKEY_ID, SIGNLINK_KDF_CONTEXT,
	                               master) != 0) {
		sodium_memzero(key, SIGNLINK_KEY_LEN);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(master, sizeof(master));
	return rc;
}

int signlink_key_from_setting(const char *stream_key, unsigned char key[SIGNLINK_KEY_LEN])
{
	sodium_memzero(key, SIGNLINK_KEY_LEN);
	if (stream_key == NULL || stream_key[0] == '\0')
		return -1;
	if (crypto_generichash(key, SIGNLINK_KEY_LEN, (const unsigned char *)stream_key, strlen(stream_key),
	                       NULL, 0) != 0) {
		sodium_memzero(key, SIGNLINK_KEY_LEN);
		return -1;
	}
	return 0;
}
