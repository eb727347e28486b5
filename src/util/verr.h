/* verr.h: a validation failure of client input, the field it concerns and a sentence to answer. */
#ifndef MEDIAD_VERR_H
#define MEDIAD_VERR_H

/* A validation failure: the field it concerns (may be NULL) and a sentence for the client. */
struct verr {
	const char *field;
	char message[256];
};

/*
 * Fills e with field (not copied: it must outlive e) and the formatted message, cut to fit.
 * A NULL e is allowed and left alone, for callers that only want the verdict.
 */
void verr_set(struct verr *e, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
