/* tus_parse.h: the tus 1.0.0 request headers that carry outside bytes, as pure functions. */
#ifndef MEDIAD_TUS_PARSE_H
#define MEDIAD_TUS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upload-Metadata, bytes: filename, title, type and projectId base64-encoded fit with room. */
#define TUS_METADATA_MAX 4096
/* Decoded bytes of one Upload-Metadata value: the most a TUS_METADATA_MAX header can hold. */
#define TUS_META_VALUE_MAX (TUS_METADATA_MAX / 4 * 3)
/* Upload-Checksum, bytes: "sha256 " and 44 base64 characters, with room. */
#define TUS_CHECKSUM_HEADER_MAX 128
/* The longest digest of an algorithm we take (sha256). */
#define TUS_DIGEST_MAX 32
/* What a PATCH body must be sent as (case-insensitive, parameters ignored). */
#define TUS_CONTENT_TYPE "application/offset+octet-stream"

/*
 * Parses a header value of decimal digits only (no sign, no blank, at most 19 digits) into *out.
 * False (and *out untouched) when s is NULL or not one.
 */
bool tus_parse_number(const char *s, int64_t *out);

/* The Upload-Metadata keys mediad takes; any other key is ignored. */
enum tus_meta_key { TUS_META_FILENAME, TUS_META_TITLE, TUS_META_TYPE, TUS_META_PROJECT_ID, TUS_META_KEYS };

struct tus_meta_value {
	bool present;
	size_t len;                     /* bytes of v, no NUL among them */
	char v[TUS_META_VALUE_MAX + 1]; /* decoded, NUL-terminated; "" when absent */
};

struct tus_metadata {
	struct tus_meta_value value[TUS_META_KEYS]; /* indexed by enum tus_meta_key */
	const char *duplicate;                      /* TUS_META_DUPLICATE: the key named twice */
};

enum tus_meta_err {
	TUS_META_OK,
	TUS_META_TOO_LONG,  /* longer than TUS_METADATA_MAX */
	TUS_META_MALFORMED, /* not comma-separated "key base64value" pairs, or a value holds a NUL */
	TUS_META_DUPLICATE  /* a key we take, twice (m->duplicate names it) */
};

/* The key of k as a client sends it ("projectId"). */
const char *tus_meta_key_name(enum tus_meta_key k);

/*
 * Parses Upload-Metadata h ("key base64,key base64,key"; NULL: none) into m, decoding the values
 * of the keys we take (standard base64 with padding). Blanks before a key are skipped; a key
 * alone has the empty value. Returns TUS_META_OK or why not; m is filled as far as it got.
 */
enum tus_meta_err tus_parse_metadata(const char *h, struct tus_metadata *m);

enum tus_checksum_alg { TUS_CHECKSUM_SHA1 = 1, TUS_CHECKSUM_SHA256 };

struct tus_checksum {
	enum tus_checksum_alg alg;
	unsigned char digest[TUS_DIGEST_MAX];
	size_t len;       /* 20 or 32 */
	const char *name; /* the algorithm as sent (not NUL-terminated there: name_len) */
	size_t name_len;
};

enum tus_checksum_err {
	TUS_CHECKSUM_NONE, /* no header */
	TUS_CHECKSUM_OK,
	TUS_CHECKSUM_MALFORMED,   /* not "<algorithm> <base64>", or longer than TUS_CHECKSUM_HEADER_MAX */
	TUS_CHECKSUM_UNSUPPORTED, /* an algorithm other than sha1 and sha256 (c->name says which) */
	TUS_CHECKSUM_BAD_DIGEST   /* not a base64 digest of the algorithm's size */
};

/* The algorithms tus_parse_checksum takes, for Tus-Checksum-Algorithm. */
#define TUS_CHECKSUM_ALGORITHMS "sha1,sha256"

/* Parses Upload-Checksum h (NULL: none) into c. c->name points into h. */
enum tus_checksum_err tus_parse_checksum(const char *h, struct tus_checksum *c);

/* Whether Content-Type ct (NULL: none) is TUS_CONTENT_TYPE, in any case, with or without
 * parameters and blanks around it. */
bool tus_content_type_ok(const char *ct);

#endif
