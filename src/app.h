/* app.h: what one responder process holds for its whole life: settings and connections. */
#ifndef MEDIAD_APP_H
#define MEDIAD_APP_H

struct config;
struct db;
struct kv;

struct app {
	const struct config *cfg;
	struct db *db;
	struct kv *kv;
};

#endif
