/* authn.c: token extraction, verification and the logout blacklist check. */
#include "config.h"

#include "api/authn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "auth/token.h"
#include "core/config.h"
#include "store/kv.h"

void authn_blacklist_key(const char *jti, char *out, size_t outlen)
{
	snprintf(out, outlen, "mediad:revoked:%s", jti);
}

static void unauthorized(struct http_response *resp, const char *msg)
{
	resp_header(resp, "WWW-Authenticate", "Bearer");
	resp_error(resp, MERR_UNAUTHORIZED, NULL, "%s", msg);
}

bool authn_require(struct http_request *req, struct http_response *resp)
{
	const char *h = http_header(req, "Authorization");
	struct token_claims claims;
	enum token_status st;
	char key[80];
	bool revoked = false;

	if (h == NULL || *h == '\0') {
		unauthorized(resp, "missing Authorization header: send \"Authorization: Bearer <token>\"");
		return false;
	}
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
	}
	st = token_verify(req->app->cfg->jwt_secret, h, time(NULL), &claims);
	if (st != TOKEN_OK) {
		unauthorized(resp, token_status_message(st));
		return false;
	}
	authn_blacklist_key(claims.jti, key, sizeof(key));
	if (kv_exists(req->app->kv, key, &revoked) != MERR_OK) {
		resp_error(resp, MERR_UNAVAILABLE, NULL,
		           "cannot check the token right now; try again shortly");
		return false;
	}
	if (revoked) {
		unauthorized(resp, "token has been revoked (logged out)");
		return false;
	}
	req->user_id = claims.user_id;
	memcpy(req->token_jti, claims.jti, sizeof(req->token_jti));
	req->token_exp = (int64_t)claims.exp;
	return true;
}
