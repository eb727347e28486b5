/* authn.h: the authentication middleware, the only place a login token is read. */
#ifndef MEDIAD_AUTHN_H
#define MEDIAD_AUTHN_H

#include <stdbool.h>

#include "http/request.h"
#include "http/response.h"

/*
 * Authenticates req from "Authorization: Bearer <jwt>" (scheme case-insensitive) or a bare
 * "Authorization: <jwt>": verifies the token and checks that its jti was not revoked (the Redis
 * copy when it can vouch for a miss, else PostgreSQL: store/revocations.h). Returns true with
 * req->user_id, token_jti and token_exp set; otherwise false with a 401 (bad or revoked token) or a
 * 503 (neither Redis nor PostgreSQL can say: a token that cannot be checked is never accepted).
 */
bool authn_require(struct http_request *req, struct http_response *resp);

#endif
