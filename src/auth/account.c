/* account.c: email normalisation and password rules. */
#include "config.h"

#include "auth/account.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void fail(struct verr *e, const char *field, const char *msg)
{
	e->field = field;
	snprintf(e->message, sizeof(e->message), "%s", msg);
}

static bool local_char_ok(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

bool account_email_normalize(const char *in, char *out, size_t outlen, struct verr *e)
{
	const char *s = in, *end = in + strlen(in), *at;
	size_t n, i, local, label = 0;

	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - s);
	if (n == 0) {
		fail(e, "email", "email is required");
		return false;
	}
	if (n > ACCOUNT_EMAIL_MAX || n + 1 > outlen) {
		fail(e, "email", "email must be at most 254 bytes");
		return false;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	at = strchr(out, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL) {
		fail(e, "email", "email must be an address like user@example.com");
		return false;
	}
	local = (size_t)(at - out);
	if (local == 0 || local > 64 || out[0] == '.' || out[local - 1] == '.') {
		fail(e, "email", "email must be an address like user@example.com");
		return false;
	}
	for (i = 0; i < local; i++)
		if (!local_char_ok((unsigned char)out[i])) {
			fail(e, "email", "email holds a character not allowed in an address");
			return false;
		}
	if (strchr(at + 1, '.') == NULL) {
		fail(e, "email", "email must have a domain like example.com");
		return false;
	}
	for (i = local + 1; i <= n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || out[i - 1] == '-') {
				fail(e, "email", "email has a malformed domain");
				return false;
			}
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-') || (label == 0 && c == '-') || ++label > 63) {
			fail(e, "email", "email has a malformed domain");
			return false;
		}
	}
	return true;
}

bool account_password_ok(const char *pw, size_t len, struct verr *e)
{
	size_t chars;

	if (len > ACCOUNT_PASSWORD_MAX_BYTES) {
		fail(e, "password", "password must be at most 1024 bytes");
		return false;
	}
	if (!utf8_valid(pw, len, &chars)) {
		fail(e, "password", "password must be valid UTF-8");
		return false;
	}
	if (chars < ACCOUNT_PASSWORD_MIN_CHARS) {
		fail(e, "password", "password must be at least 8 characters");
		return false;
	}
	return true;
}
