/* analytics_cache.c: per-media generations of cached analytics answers in Redis. */
#include "config.h"

#include "store/analytics_cache.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* Buffer sizes: a key with a 64-bit id (and a generation), a field of two dates, an owner line. */
#define CACHE_KEY_MAX 128
#define CACHE_FIELD_MAX 32
#define CACHE_OWNER_MAX 24

/* The hash prefix "mediad:analytics:media:<id>" and the generation key of media_id. See kv_hget_gen
 * for why a generation and not DEL. */
static void cache_keys(int64_t media_id, char *prefix, size_t plen, char *gen_key, size_t glen)
{
	snprintf(prefix, plen, "mediad:analytics:media:%lld", (long long)media_id);
	snprintf(gen_key, glen, "mediad:analytics:gen:%lld", (long long)media_id);
}

/* The hash field of a range, "<from>:<to>", and the owner line that starts an entry. */
static void cache_field_owner(const char *from, const char *to, int64_t user_id, char *field, char *owner)
{
	snprintf(field, CACHE_FIELD_MAX, "%s:%s", from ? from : "", to ? to : "");
	snprintf(owner, CACHE_OWNER_MAX, "%lld\n", (long long)user_id);
}

bool analytics_cache_get(struct kv *kv, int64_t media_id, int64_t user_id, const char *from, const char *to,
                         struct buf *json, char *gen)
{
	char prefix[CACHE_KEY_MAX], gen_key[CACHE_KEY_MAX], field[CACHE_FIELD_MAX], owner[CACHE_OWNER_MAX];
	size_t skip;
	bool found = false;

	gen[0] = '\0';
	buf_reset(json);
	cache_keys(media_id, prefix, sizeof(prefix), gen_key, sizeof(gen_key));
	cache_field_owner(from, to, user_id, field, owner);
	skip = strlen(owner);
	if (kv_hget_gen(kv, gen_key, prefix, field, gen, json, &found) != MERR_OK || !found ||
	    strncmp(json->data, owner, skip) != 0)
		goto miss;
	/* "<owner>\n<json>" becomes "<json>\n" in place. */
	memmove(json->data, json->data + skip, json->len - skip + 1);
	json->len -= skip;
	if (buf_putc(json, '\n') != 0)
		goto miss;
	return true;
miss:
	buf_free(json);
	return false;
}

void analytics_cache_put(struct kv *kv, int64_t media_id, int64_t user_id, const char *from, const char *to,
                         const char *gen, struct json_object *answer)
{
	char prefix[CACHE_KEY_MAX], gen_key[CACHE_KEY_MAX], key[CACHE_KEY_MAX + KV_GEN_MAX];
	char field[CACHE_FIELD_MAX], owner[CACHE_OWNER_MAX];
	struct buf entry = BUF_INIT;
	const char *s;
	size_t len;

	if (gen[0] == '\0')
		return;
	s = json_object_to_json_string_length(answer, JSON_C_TO_STRING_PLAIN, &len);
	if (s == NULL)
		return;
	cache_keys(media_id, prefix, sizeof(prefix), gen_key, sizeof(gen_key));
	cache_field_owner(from, to, user_id, field, owner);
	snprintf(key, sizeof(key), "%s:%s", prefix, gen);
	buf_puts(&entry, owner);
	if (buf_append(&entry, s, len) == 0)
		kv_best_effort(kv_hset_ttl(kv, key, field, entry.data, entry.len, ANALYTICS_CACHE_TTL));
	buf_free(&entry);
}

void analytics_cache_drop(struct kv *kv, int64_t media_id)
{
	char prefix[CACHE_KEY_MAX], gen_key[CACHE_KEY_MAX];

	cache_keys(media_id, prefix, sizeof(prefix), gen_key, sizeof(gen_key));
	kv_best_effort(kv_gen_bump(kv, gen_key, ANALYTICS_GEN_TTL));
}
