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
#include "http/json_body.h"
#include "store/kv.h"
#include "store/users.h"

#define LOGIN_WINDOW_S 60

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
	struct user u;
	struct verr e;
	size_t pwlen;
	enum merr err;

	memset(&u, 0, sizeof(u));
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

/* Applies the two login limits: per client IP, and per client IP + email. */
static bool login_rate_ok(struct http_request *req, struct http_response *resp, const char *email)
{
	unsigned char h[16];
	char ip[64], hex[33], key[192];

	api_client_ip(req, ip, sizeof(ip));
	snprintf(key, sizeof(key), "mediad:rl:login:ip:%s", ip);
	if (!ratelimit_hit(req, resp, key, req->app->cfg->login_rate_ip, LOGIN_WINDOW_S, false))
		return false;
	/* The email is hashed: Redis holds no addresses. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)email, strlen(email), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(key, sizeof(key), "mediad:rl:login:ipe:%s:%s", ip, hex);
	return ratelimit_hit(req, resp, key, req->app->cfg->login_rate_ip_email, LOGIN_WINDOW_S, false);
}

void handle_auth_login(struct http_request *req, struct http_response *resp)
{
	struct json_object *body = NULL, *o;
	const char *email, *password;
	char norm[ACCOUNT_EMAIL_MAX + 1], token[TOKEN_MAX_LEN], expires[40];
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
	char key[80];
	long long left = (long long)req->token_exp + TOKEN_LEEWAY - (long long)time(NULL);
	struct json_object *o;

	/* Only a verified token reaches here (the route is ROUTE_AUTH): a forged or expired one can
	 * never write into Redis. The entry lives as long as the token could still be accepted. */
	authn_blacklist_key(req->token_jti, key, sizeof(key));
	if (kv_set_ex(req->app->kv, key, "1", 1, left < 1 ? 1 : left) != MERR_OK) {
		resp_error(resp, MERR_UNAVAILABLE, NULL,
		           "cannot revoke the token right now; try again shortly");
		return;
	}
	o = json_object_new_object();
	if (o != NULL)
		json_object_object_add(o, "message", json_object_new_string("Logged out"));
	resp_json(resp, 200, o);
}

void handle_auth_me(struct http_request *req, struct http_response *resp)
{
	struct json_object *o, *user;
	struct user u;
	enum merr err = users_by_id(req->app->db, req->user_id, &u);

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
	if (o != NULL)
		json_object_object_add(o, "user", user);
	else if (user != NULL)
		json_object_put(user);
	resp_json(resp, 200, o);
}
