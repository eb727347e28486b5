/* auth.c: POST /auth/register (= /auth/signup), POST /auth/login, /auth/logout, GET /auth/me. */
#include "config.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/authn.h"
#include "api/common.h"
#include "api/handlers.h"
#include "api/ratelimit.h"
#include "app.h"
#include "auth/account.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/config.h"
#include "core/log.h"
#include "http/clientip.h"
#include "http/json_body.h"
#include "store/kv.h"
#include "store/login_failures.h"
#include "store/media.h"
#include "store/revocations.h"
#include "store/users.h"

#define LOGIN_WINDOW_S 60
/* login_fail_account failures are allowed per account in this window. */
#define LOGIN_FAIL_WINDOW_S (15 * 60)
/* register_rate_ip registrations are allowed per client in this window. */
#define REGISTER_WINDOW_S 3600

/* Reads {"email", "password"} from the body. Returns false with resp set. */
static bool read_credentials(struct http_request *req, struct http_response *resp, struct json_object **body,
                             const char **email, const char **password, size_t *pwlen)
{
	struct verr e;

	*body = http_json_body(req, resp);
	if (*body == NULL)
		return false;
	if (jget_string(*body, "email", JGET_REQUIRED, 1, 1024, 1024, email, &e) < 0 ||
	    jget_string(*body, "password", JGET_REQUIRED, 1, ACCOUNT_PASSWORD_MAX_BYTES,
	                ACCOUNT_PASSWORD_MAX_BYTES, password, &e) < 0) {
		resp_verr(resp, &e);
		return false;
	}
	*pwlen = strlen(*password);
	return true;
}

void handle_auth_register(struct http_request *req, struct http_response *resp)
{
	struct json_object *body = NULL, *o;
	const char *email, *password;
	char who[CLIENTIP_KEY_SIZE], key[128];
	struct user u;
	struct verr e;
	size_t pwlen;
	enum merr err;

	memset(&u, 0, sizeof(u));
	/* Before the body is read: every call counts, valid or not, since each valid one costs
	 * 64 MiB of argon2id. An IPv6 client counts by its /64. */
	api_client_limit_key(req, who, sizeof(who));
	snprintf(key, sizeof(key), "mediad:rl:register:ip:%s", who);
	if (!ratelimit_hit(req, resp, key, req->app->cfg->register_rate_ip, REGISTER_WINDOW_S, false))
		goto out;
	if (!read_credentials(req, resp, &body, &email, &password, &pwlen))
		goto out;
	if (!account_email_normalize(email, u.email, sizeof(u.email), &e) ||
	    !account_password_ok(password, pwlen, &e)) {
		resp_verr(resp, &e);
		goto out;
	}
	if (password_hash(password, pwlen, u.password_hash) != 0) {
		log_error("register: argon2id could not allocate its memory");
		resp_error(resp, MERR_UNAVAILABLE, NULL, "server busy; try again shortly");
		goto out;
	}
	err = users_create(req->app->db, &u);
	if (err == MERR_CONFLICT) {
		resp_error(resp, MERR_CONFLICT, "email", "an account with this email already exists");
		goto out;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "user");
		goto out;
	}
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "message", json_object_new_string("User registered successfully"));
		json_object_object_add(o, "user", api_user_object(u.id, u.email));
	}
	resp_json(resp, 201, o);
out:
	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	if (body != NULL)
		json_object_put(body);
}

/* The email's key part: hashed, so Redis holds no addresses. */
static void email_key(const char *email, char hex[33])
{
	unsigned char h[16];

	crypto_generichash(h, sizeof(h), (const unsigned char *)email, strlen(email), NULL, 0);
	sodium_bin2hex(hex, 33, h, sizeof(h));
}

/* Applies the two per-client login limits: per client (an IPv6 client by its /64), and per client
 * + email. */
static bool login_rate_ok(struct http_request *req, struct http_response *resp, const char *email)
{
	char who[CLIENTIP_KEY_SIZE], hex[33], key[192];

	api_client_limit_key(req, who, sizeof(who));
	snprintf(key, sizeof(key), "mediad:rl:login:ip:%s", who);
	if (!ratelimit_hit(req, resp, key, req->app->cfg->login_rate_ip, LOGIN_WINDOW_S, false))
		return false;
	email_key(email, hex);
	snprintf(key, sizeof(key), "mediad:rl:login:ipe:%s:%s", who, hex);
	return ratelimit_hit(req, resp, key, req->app->cfg->login_rate_ip_email, LOGIN_WINDOW_S, false);
}

/*
 * The per-account lockout, from any number of clients: at most login_fail_account failed logins
 * per email in a LOGIN_FAIL_WINDOW_S window; past them every attempt, the right password too, is a
 * 429 until the window ends, and costs no argon2id. The attempt is counted before the password is
 * checked (so parallel guesses cannot slip past the count) and a success takes it back by clearing
 * the counter (login_fail_clear): what is counted is the failures since the last success. Emails
 * nobody registered are counted the same, so the answers tell nobody who is registered.
 *
 * Where it is counted: in Redis, shared by every responder. Without Redis (redis_url empty) in
 * PostgreSQL (store/login_failures.c), shared too: a count per process would let a host of N
 * responders (mod_fcgid runs up to 100) take N times login_fail_account guesses. When that count
 * cannot be made (a database error, as when Redis is down) the attempt is counted in this process
 * instead: the same policy as for Redis down, neither open nor closed. A login is never refused for
 * want of a counter, but the lock still holds, per process, until the store answers again.
 * Returns false with the 429 set; key (key_len bytes) gets the counter's key, hex (33 bytes) the
 * account's key (the email's hash).
 */
static bool login_fail_ok(struct http_request *req, struct http_response *resp, const char *email, char *key,
                          size_t key_len, char hex[33])
{
	long long limit = req->app->cfg->login_fail_account, count = 0, ttl = 0;
	enum merr err;

	email_key(email, hex);
	snprintf(key, key_len, "mediad:rl:login:acct:%s", hex);
	if (kv_configured(req->app->kv))
		return ratelimit_hit(req, resp, key, limit, LOGIN_FAIL_WINDOW_S, false);
	err = login_failures_hit(req->app->db, hex, LOGIN_FAIL_WINDOW_S, &count, &ttl);
	if (err != MERR_OK) {
		log_error("login: the account's failures could not be counted in PostgreSQL (%s): counted in "
		          "this process",
		          merr_code(err));
		return ratelimit_hit_local(resp, key, limit, LOGIN_FAIL_WINDOW_S, false);
	}
	return ratelimit_answer(resp, limit, count, ttl, false);
}

/* A successful login clears the account's failures: in Redis, or in PostgreSQL without it, and in
 * this responder (where they are counted while Redis, or that row, cannot be reached). Best effort:
 * a failure to clear leaves the count to its window. */
static void login_fail_clear(struct http_request *req, const char *key, const char *hex)
{
	enum merr err;

	if (kv_configured(req->app->kv)) {
		ratelimit_clear(req, key);
		return;
	}
	ratelimit_local_clear(key);
	err = login_failures_clear(req->app->db, hex, LOGIN_FAIL_WINDOW_S);
	if (err != MERR_OK)
		log_error("login: the account's failures could not be cleared in PostgreSQL (%s)",
		          merr_code(err));
}

void handle_auth_login(struct http_request *req, struct http_response *resp)
{
	struct json_object *body = NULL, *o;
	const char *email, *password;
	char norm[ACCOUNT_EMAIL_MAX + 1], token[TOKEN_MAX_LEN], expires[40], acct[96] = "", acct_hex[33] = "";
	struct token_claims claims;
	struct user u;
	struct verr e;
	size_t pwlen;
	enum merr err;
	bool ok;

	memset(&u, 0, sizeof(u));
	if (!read_credentials(req, resp, &body, &email, &password, &pwlen))
		goto out;
	if (!account_email_normalize(email, norm, sizeof(norm), &e)) {
		resp_verr(resp, &e);
		goto out;
	}
	if (!login_rate_ok(req, resp, norm))
		goto out;
	err = users_by_email(req->app->db, norm, &u);
	/* After the lookup: a database outage is a 503 and no failure of the account. */
	if ((err == MERR_OK || err == MERR_NOT_FOUND) &&
	    !login_fail_ok(req, resp, norm, acct, sizeof(acct), acct_hex))
		goto out;
	if (err == MERR_NOT_FOUND) {
		/* Same work, same answer as a wrong password: nobody learns who is registered. */
		password_verify_dummy(password, pwlen);
		resp_header(resp, "WWW-Authenticate", "Bearer");
		resp_error(resp, MERR_UNAUTHORIZED, NULL, "invalid email or password");
		goto out;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "user");
		goto out;
	}
	ok = password_verify(u.password_hash, password, pwlen);
	if (!ok) {
		resp_header(resp, "WWW-Authenticate", "Bearer");
		resp_error(resp, MERR_UNAUTHORIZED, NULL, "invalid email or password");
		goto out;
	}
	login_fail_clear(req, acct, acct_hex);
	if (password_needs_rehash(u.password_hash)) {
		char fresh[PASSWORD_HASH_LEN];

		/* Best effort: the login succeeds whether or not the upgrade is stored. */
		if (password_hash(password, pwlen, fresh) == 0 &&
		    users_set_hash(req->app->db, u.id, fresh) != MERR_OK)
			log_error("login: could not store an upgraded password hash for user %lld",
			          (long long)u.id);
		sodium_memzero(fresh, sizeof(fresh));
	}
	if (token_create(req->app->cfg->jwt_secret, u.id, time(NULL), req->app->cfg->token_ttl, token,
	                 sizeof(token), &claims) != 0) {
		resp_error(resp, MERR_INTERNAL, NULL, "could not issue a token");
		goto out;
	}
	api_time_rfc3339(claims.exp, expires, sizeof(expires));
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "token", json_object_new_string(token));
		json_object_object_add(o, "expiresAt", json_object_new_string(expires));
		json_object_object_add(o, "user", api_user_object(u.id, u.email));
	}
	resp_header(resp, "Cache-Control", "no-store");
	resp_json(resp, 200, o);
	sodium_memzero(token, sizeof(token));
out:
	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	if (body != NULL)
		json_object_put(body);
}

void handle_auth_logout(struct http_request *req, struct http_response *resp)
{
	struct json_object *o;
	enum merr err;

	/* Only a verified token reaches here (the route is ROUTE_AUTH): a forged or expired one can
	 * never write a revocation. It is kept as long as the token could still be accepted, in
	 * PostgreSQL (so Redis may lose its copy), and answered only once it is committed. */
	err = revocations_add(req->app->db, req->app->kv, req->token_jti, req->user_id,
	                      (time_t)(req->token_exp + TOKEN_LEEWAY));
	if (err != MERR_OK) {
		resp_store_error(resp, err, "revocation");
		return;
	}
	o = json_object_new_object();
	if (o != NULL)
		json_object_object_add(o, "message", json_object_new_string("Logged out"));
	resp_json(resp, 200, o);
}

/* {"usedBytes": what the user's media take, "quotaBytes": storage_quota_bytes, or null for none}. */
static struct json_object *storage_object(int64_t used, long long quota)
{
	struct json_object *s = json_object_new_object();

	if (s == NULL)
		return NULL;
	json_object_object_add(s, "usedBytes", json_object_new_int64(used));
	json_object_object_add(s, "quotaBytes", quota > 0 ? json_object_new_int64(quota) : NULL);
	return s;
}

void handle_auth_me(struct http_request *req, struct http_response *resp)
{
	struct json_object *o, *user;
	struct user u;
	int64_t used = 0;
	enum merr err = users_me(req->app->db, req->user_id, &u, &used);

	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	if (err != MERR_OK) {
		/* A valid token for a deleted user is no longer a login. */
		if (err == MERR_NOT_FOUND) {
			resp_header(resp, "WWW-Authenticate", "Bearer");
			resp_error(resp, MERR_UNAUTHORIZED, NULL,
			           "the account of this token no longer exists");
		} else {
			resp_store_error(resp, err, "user");
		}
		return;
	}
	o = json_object_new_object();
	user = api_user_object(u.id, u.email);
	if (o != NULL && user != NULL) {
		json_object_object_add(user, "isAdmin", json_object_new_boolean(u.is_admin));
		json_object_object_add(user, "createdAt", json_object_new_string(u.created_at));
	}
	if (o != NULL) {
		json_object_object_add(o, "user", user);
		json_object_object_add(o, "storage",
		                       storage_object(used, req->app->cfg->storage_quota_bytes));
	} else if (user != NULL) {
		json_object_put(user);
	}
	resp_json(resp, 200, o);
}
