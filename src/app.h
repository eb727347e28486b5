/* app.h: what one responder process holds for its whole life: settings and connections. */
#ifndef MEDIAD_APP_H
#define MEDIAD_APP_H

struct cidr_list;
struct config;
struct db;
struct kv;

struct app {
	const struct config *cfg;
	const struct cidr_list *trusted; /* parsed trusted_proxies */
	struct db *db;
	struct kv *kv;
};

#endif
