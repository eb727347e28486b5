/* sign.h: the Mediad-Signature header of a webhook request (the Stripe scheme). */
#ifndef MEDIAD_HOOKS_SIGN_H
#define MEDIAD_HOOKS_SIGN_H

#include <stddef.h>

/* "t=<up to 20 digits>,v1=<64 hex digits>" and its NUL. */
#define SIGN_HEADER_MAX (2 + 20 + 4 + 64 + 1)

/*
 * Writes "t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with secret[0..secret_len)>" into out
 * (at least SIGN_HEADER_MAX bytes): what a receiver recomputes with the endpoint's secret to know
 * the request is ours, and compares t with its clock to refuse a replay. Returns 0, or -1 when out
 * is too small.
 */
int sign_header(const char *secret, size_t secret_len, long long t, const char *body, size_t body_len,
                char *out, size_t outlen) __attribute__((warn_unused_result));

#endif
