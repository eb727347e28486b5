/* tus_parse.c: Upload-Length/Offset numbers, Upload-Metadata, Upload-Checksum and Content-Type. */
#include "config.h"

#include "http/tus_parse.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool tus_parse_number(const char *s, int64_t *out)
{
	long long v;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) > 19)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* Decodes the standard base64 s[0..n) into out (NUL-terminated, at most outlen - 1 bytes, *len of
 * them). False when it is not base64 or does not fit. */
static bool tus_base64(const char *s, size_t n, char *out, size_t outlen, size_t *len)
{
	const char *end = NULL;

	if (sodium_base642bin((unsigned char *)out, outlen - 1, s, n, NULL, len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n)
		return false;
	out[*len] = '\0';
	return true;
}

static const char *const tus_meta_keys[TUS_META_KEYS] = { "filename", "title", "type", "projectId" };

const char *tus_meta_key_name(enum tus_meta_key k)
{
	return k < TUS_META_KEYS ? tus_meta_keys[k] : "";
}

enum tus_meta_err tus_parse_metadata(const char *h, struct tus_metadata *m)
{
	/* The value of a key we do not take is still checked, decoded here. */
	char other[TUS_META_VALUE_MAX + 1];
	const char *p = h;

	memset(m, 0, sizeof(*m));
	if (h == NULL)
		return TUS_META_OK;
	if (strlen(h) > TUS_METADATA_MAX)
		return TUS_META_TOO_LONG;
	while (*p != '\0') {
		struct tus_meta_value *slot = NULL;
		size_t klen, vlen, len = 0;
		const char *v;
		int k;

		p += strspn(p, " ");
		klen = strcspn(p, " ,");
		v = p + klen;
		if (*v == ' ')
			v++;
		vlen = strcspn(v, ",");
		if (klen == 0 || memchr(v, ' ', vlen) != NULL)
			return TUS_META_MALFORMED;
		for (k = 0; k < TUS_META_KEYS; k++) {
			if (strlen(tus_meta_keys[k]) == klen && memcmp(tus_meta_keys[k], p, klen) == 0) {
				slot = &m->value[k];
				break;
			}
		}
		if (slot != NULL && slot->present) {
			m->duplicate = tus_meta_keys[k];
			return TUS_META_DUPLICATE;
		}
		if (slot != NULL ? !tus_base64(v, vlen, slot->v, sizeof(slot->v), &len) :
		                   !tus_base64(v, vlen, other, sizeof(other), &len))
			return TUS_META_MALFORMED;
		if (memchr(slot != NULL ? slot->v : other, '\0', len) != NULL)
			return TUS_META_MALFORMED;
		if (slot != NULL) {
			slot->present = true;
			slot->len = len;
		}
		p = v + vlen;
		if (*p == ',')
			p++;
	}
	return TUS_META_OK;
}

enum tus_checksum_err tus_parse_checksum(const char *h, struct tus_checksum *c)
{
	char digest[TUS_DIGEST_MAX + 1];
	size_t alen, len = 0, want;

	memset(c, 0, sizeof(*c));
	if (h == NULL)
		return TUS_CHECKSUM_NONE;
	if (strlen(h) > TUS_CHECKSUM_HEADER_MAX)
		return TUS_CHECKSUM_MALFORMED;
	alen = strcspn(h, " ");
	if (alen == 0 || h[alen] != ' ')
		return TUS_CHECKSUM_MALFORMED;
	c->name = h;
	c->name_len = alen;
	if (alen == 4 && memcmp(h, "sha1", 4) == 0) {
		c->alg = TUS_CHECKSUM_SHA1;
		want = 20;
	} else if (alen == 6 && memcmp(h, "sha256", 6) == 0) {
		c->alg = TUS_CHECKSUM_SHA256;
		want = 32;
	} else {
		return TUS_CHECKSUM_UNSUPPORTED;
	}
	if (!tus_base64(h + alen + 1, strlen(h + alen + 1), digest, sizeof(digest), &len) || len != want)
		return TUS_CHECKSUM_BAD_DIGEST;
	memcpy(c->digest, digest, len);
	c->len = len;
	return TUS_CHECKSUM_OK;
}

bool tus_content_type_ok(const char *ct)
{
	size_t n, want = strlen(TUS_CONTENT_TYPE);

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == want && strncasecmp(ct, TUS_CONTENT_TYPE, want) == 0;
}
