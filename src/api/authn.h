/* authn.h: the authentication middleware, the only place a login token is read. */
#ifndef MEDIAD_AUTHN_H
#define MEDIAD_AUTHN_H

#include <stdbool.h>

#include "http/request.h"
#include "http/response.h"

/*
 * Authenticates req from "Authorization: Bearer <jwt>" (scheme case-insensitive) or a bare
 * "Authorization: <jwt>": verifies the token and checks its jti against the Redis blacklist.
 * Returns true with req->user_id, token_jti and token_exp set; otherwise false with a 401 (bad or
 * revoked token) or a 503 (Redis unreachable: a token that cannot be checked is never accepted).
 */
bool authn_require(struct http_request *req, struct http_response *resp);
/* The Redis key under which a revoked token id is kept. */
void authn_blacklist_key(const char *jti, char *out, size_t outlen);

#endif
