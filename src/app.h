/* app.h: what one responder process holds for its whole life: settings and connections. */
#ifndef MEDIAD_APP_H
#define MEDIAD_APP_H

#include "auth/signlink.h"

struct cidr_list;
struct config;
struct db;
struct kv;

struct app {
	const struct config *cfg;
	const struct cidr_list *trusted; /* parsed trusted_proxies */
	struct db *db;
	struct kv *kv;
	unsigned char stream_key[SIGNLINK_KEY_LEN]; /* HMAC key of stream links, never the JWT secret */
};

#endif
