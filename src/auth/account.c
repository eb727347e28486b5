/* account.c: email normalisation and password rules. */
#include "config.h"

#include "auth/account.h"

#include <ctype.h>
#include <string.h>

#include "util/utf8.h"

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
		verr_set(e, "email", "email is required");
		return false;
	}
	if (n > ACCOUNT_EMAIL_MAX || n + 1 > outlen) {
		verr_set(e, "email", "email must be at most 254 bytes");
		return false;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	at = strchr(out, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL) {
		verr_set(e, "email", "email must be an address like user@example.com");
		return false;
	}
	local = (size_t)(at - out);
	if (local == 0 || local > 64 || out[0] == '.' || out[local - 1] == '.') {
		verr_set(e, "email", "email must be an address like user@example.com");
		return false;
	}
	for (i = 0; i < local; i++)
		if (!local_char_ok((unsigned char)out[i])) {
			verr_set(e, "email", "email holds a character not allowed in an address");
			return false;
		}
	if (strchr(at + 1, '.') == NULL) {
		verr_set(e, "email", "email must have a domain like example.com");
		return false;
	}
	for (i = local + 1; i <= n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || out[i - 1] == '-') {
				verr_set(e, "email", "email has a malformed domain");
				return false;
			}
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-') || (label == 0 && c == '-') || ++label > 63) {
			verr_set(e, "email", "email has a malformed domain");
			return false;
		}
	}
	return true;
}

bool account_password_ok(const char *pw, size_t len, struct verr *e)
{
	size_t chars;

	if (len > ACCOUNT_PASSWORD_MAX_BYTES) {
		verr_set(e, "password", "password must be at most 1024 bytes");
		return false;
	}
	if (!utf8_valid(pw, len, &chars)) {
		verr_set(e, "password", "password must be valid UTF-8");
		return false;
	}
	if (chars < ACCOUNT_PASSWORD_MIN_CHARS) {
		verr_set(e, "password", "password must be at least 8 characters");
		return false;
	}
	return true;
}
