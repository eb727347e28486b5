/* authn.c: token extraction, verification and the revocation check. */
#include "config.h"

#include "api/authn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "auth/token.h"
#include "core/config.h"
#include "store/revocations.h"

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
	/* Redis when it can vouch for its answer, PostgreSQL otherwise: only both down is a 503. */
	if (revocations_check(req->app->db, req->app->kv, claims.jti, &revoked) != MERR_OK) {
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
