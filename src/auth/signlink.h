/* signlink.h: signed, expiring stream links (HMAC-SHA256 over media id and expiry), and the
 * path-bound signatures of the files inside a media's HLS and storyboard package. */
#ifndef MEDIAD_SIGNLINK_H
#define MEDIAD_SIGNLINK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a link key. */
#define SIGNLINK_KEY_LEN 32
/* Characters of a signature: base64url without padding of a 32-byte MAC. */
#define SIGNLINK_SIG_LEN 43
/* Buffer size for a signature and its NUL. */
#define SIGNLINK_SIG_SIZE (SIGNLINK_SIG_LEN + 1)
/* Longest path a path-bound signature covers ("720p/seg_000000003.m4s" is 22 bytes). */
#define SIGNLINK_PATH_MAX 128

enum signlink_result {
	SIGNLINK_OK,     /* serve the media */
	SIGNLINK_BAD,    /* 403: missing, malformed or forged */
	SIGNLINK_EXPIRED /* 410: a link we signed, past its expiry */
};

/*
 * The MAC is HMAC-SHA256 over "mediad-stream-v1\n<media_id>\n<expires>" (decimal), so it cannot
 * be mistaken for a MAC made for any other purpose with the same key. libsodium must have been
 * initialised (sodium_init) by the program.
 */

/*
 * Writes the signature of (media_id, expires) into sig_out (n >= SIGNLINK_SIG_SIZE): base64url,
 * no padding, NUL-terminated. Returns 0, or -1 (sig_out set to "" when n > 0) if n is too small.
 */
int signlink_sign(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id, int64_t expires, char *sig_out,
                  size_t n) __attribute__((warn_unused_result));

/*
 * Checks a link's "expires" and "sig" query values for media_id at time now (seconds since the
 * epoch). expires_str must be canonical decimal (digits only, no sign, no leading zero, at most
 * INT64_MAX); sig_str must be exactly SIGNLINK_SIG_LEN canonical base64url characters. NULL or
 * malformed values, or a MAC that does not match (compared in constant time), are SIGNLINK_BAD.
 * The signature is checked before the expiry, so only a link we really signed can be
 * SIGNLINK_EXPIRED: a forger learns nothing from the answer. A link is good up to and including
 * the second expires + leeway (a negative leeway counts as 0).
 */
enum signlink_result signlink_verify(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id,
                                     const char *expires_str, const char *sig_str, int64_t now,
                                     int64_t leeway);

/*
 * Path-bound signatures, for the URIs mediad writes into a playlist or a WebVTT file: each names
 * one file of the media's package, so a signature for one file opens no other. The MAC is
 * HMAC-SHA256 over "mediad-hls-v1\n<media_id>\n<expires>\n<path>", path relative to the package
 * ("720p/index.m3u8", "720p/seg_00003.m4s", "storyboard.jpg"), with the same key as the stream
 * links; its own domain keeps a stream link's signature from passing as a path's, and back. The
 * path is the message's last field, so it needs no escaping.
 */

/*
 * Writes the signature of (media_id, expires, path) into sig_out as signlink_sign does. Returns
 * 0, or -1 (sig_out set to "" when n > 0) if n is too small or path is NULL, empty or longer than
 * SIGNLINK_PATH_MAX.
 */
int signlink_sign_path(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id, int64_t expires,
                       const char *path, char *sig_out, size_t n) __attribute__((warn_unused_result));

/*
 * signlink_verify for a path-bound signature: the same rules for expires_str, sig_str, now and
 * leeway (the MAC first, then the expiry). A path that signlink_sign_path would refuse is
 * SIGNLINK_BAD.
 */
enum signlink_result signlink_verify_path(const unsigned char key[SIGNLINK_KEY_LEN], int64_t media_id,
                                          const char *path, const char *expires_str, const char *sig_str,
                                          int64_t now, int64_t leeway);

/*
 * Derives the link key from the JWT secret, for installations without a stream_key: the master
 * key is the 32-byte BLAKE2b (crypto_generichash) of the secret, and the link key is its
 * crypto_kdf subkey 1 in context "mediastr", so a leaked link key does not give the JWT secret.
 * Returns 0, or -1 (key zeroed) if jwt_secret is NULL or empty.
 */
int signlink_derive_key(const char *jwt_secret, unsigned char key[SIGNLINK_KEY_LEN])
        __attribute__((warn_unused_result));

/*
 * Makes the link key from a configured stream_key: its 32-byte BLAKE2b (crypto_generichash).
 * Returns 0, or -1 (key zeroed) if stream_key is NULL or empty.
 */
int signlink_key_from_setting(const char *stream_key, unsigned char key[SIGNLINK_KEY_LEN])
        __attribute__((warn_unused_result));

#endif
