/* multipart.h: incremental multipart/form-data (RFC 7578) parser for streamed uploads. */
#ifndef MEDIAD_MULTIPART_H
#define MEDIAD_MULTIPART_H

#include <stddef.h>

/* RFC 2046: a boundary is 1..70 characters. */
#define MULTIPART_BOUNDARY_MAX 70
/* Longest display name multipart_filename_sanitize produces, in bytes, terminator excluded. */
#define MULTIPART_FILENAME_MAX 255
/* Caps used when struct multipart_limits leaves a field at 0. */
#define MULTIPART_DEFAULT_MAX_PARTS 64
#define MULTIPART_DEFAULT_MAX_HEADER_BYTES 8192

/*
 * What went wrong. The caller maps these to HTTP: MULTIPART_ERR_NOT_FORM_DATA is a 415,
 * MULTIPART_ERR_HEADERS_TOO_LARGE and MULTIPART_ERR_TOO_MANY_PARTS are 413, MULTIPART_ERR_NOMEM
 * is a 500, MULTIPART_ERR_ABORTED is whatever the callback decided (see multipart_abort_code),
 * every other one is a 400.
 */
enum multipart_err {
	MULTIPART_OK = 0,
	MULTIPART_ERR_NOMEM,
	MULTIPART_ERR_ARG,              /* programmer error: output too small, bad limits */
	MULTIPART_ERR_NOT_FORM_DATA,    /* Content-Type absent or not multipart/form-data */
	MULTIPART_ERR_BAD_CONTENT_TYPE, /* garbled Content-Type parameters */
	MULTIPART_ERR_NO_BOUNDARY,      /* no boundary parameter */
	MULTIPART_ERR_BAD_BOUNDARY,     /* empty, longer than 70, or a character RFC 2046 forbids */
	MULTIPART_ERR_BARE_LF,          /* a line ended by LF alone */
	MULTIPART_ERR_BAD_HEADER,       /* garbled or repeated part header line */
	MULTIPART_ERR_FOLDED_HEADER,    /* obsolete line folding in the part headers */
	MULTIPART_ERR_NO_DISPOSITION,   /* a part without Content-Disposition */
	MULTIPART_ERR_BAD_DISPOSITION,  /* not "form-data", or garbled parameters */
	MULTIPART_ERR_NO_NAME,          /* Content-Disposition without a non-empty name */
	MULTIPART_ERR_HEADERS_TOO_LARGE,
	MULTIPART_ERR_TOO_MANY_PARTS,
	MULTIPART_ERR_NO_FINAL_BOUNDARY,
	MULTIPART_ERR_ABORTED, /* a callback returned non-zero */
	MULTIPART_ERR__COUNT
};

/* A short human message for e, e.g. "missing final boundary". Never NULL. */
const char *multipart_strerror(enum multipart_err e);

/*
 * Copies the boundary parameter of a Content-Type value into out (NUL-terminated). The media
 * type and parameter names match case-insensitively; the value may be a token or a quoted
 * string. outlen must be at least MULTIPART_BOUNDARY_MAX + 1 or the boundary's length + 1.
 * Returns MULTIPART_OK, or NOT_FORM_DATA (ct NULL or another type), BAD_CONTENT_TYPE,
 * NO_BOUNDARY, BAD_BOUNDARY, ARG; out is then "" (when outlen > 0).
 */
enum multipart_err multipart_boundary_from_content_type(const char *ct, char *out, size_t outlen)
        __attribute__((warn_unused_result));

/*
 * One part as announced to on_part_begin. Every string is NUL-terminated, holds no NUL, and
 * stays valid until on_part_end returns (or the parser fails or is freed).
 * - name: the field name, non-empty, bytes as sent (quoted-string escapes undone).
 * - filename: NULL for a plain field; otherwise the client's file name as bytes, possibly "".
 *   filename*=UTF-8''... (RFC 5987, percent-decoded) wins over filename="...". In a quoted
 *   filename only \" and \\ are escapes; any other backslash is kept, so a Windows path
 *   "C:\dir\a.txt" survives for multipart_filename_sanitize to strip. Never use it as a path.
 * - content_type: the part's Content-Type value, whitespace-trimmed; NULL when absent.
 */
struct multipart_part {
	size_t index; /* 0 for the first part */
	const char *name;
	size_t name_len;
	const char *filename;
	size_t filename_len;
	const char *content_type;
};

/*
 * Event callbacks; any may be NULL. Each returns 0 to go on, or non-zero to stop the parser:
 * multipart_feed then returns MULTIPART_ERR_ABORTED and multipart_abort_code gives the value.
 * on_part_data gets the body of the current part in pieces of any size (never empty), in order,
 * pointing into the caller's input or the parser; the bytes are valid only during the call.
 * After an error no callback runs again, so on_part_end is not called for a part left open:
 * the caller discards what it wrote for it.
 */
struct multipart_callbacks {
	int (*on_part_begin)(void *arg, const struct multipart_part *part);
	int (*on_part_data)(void *arg, const char *data, size_t len);
	int (*on_part_end)(void *arg);
	int (*on_body_end)(void *arg); /* the close delimiter "--boundary--" was read */
};

/* Caps; 0 in a field means its MULTIPART_DEFAULT_*. */
struct multipart_limits {
	size_t max_parts;
	size_t max_header_bytes; /* a part's header block, its CRLFs and the blank line included */
};

struct multipart;

/*
 * Allocates a parser for boundary (without the leading "--"). lim may be NULL for the defaults.
 * cb is copied; arg is passed to every callback. Memory is O(boundary + max_header_bytes) and
 * stays so whatever the size of the parts. On success *out owns the parser (multipart_free).
 * Returns MULTIPART_OK, or BAD_BOUNDARY, ARG (lim too large), NOMEM with *out NULL.
 */
enum multipart_err multipart_new(struct multipart **out, const char *boundary,
                                 const struct multipart_limits *lim, const struct multipart_callbacks *cb,
                                 void *arg) __attribute__((warn_unused_result));

/* Frees p and its buffers. NULL is fine. */
void multipart_free(struct multipart *p);

/*
 * Parses the next len bytes of the body, split anywhere (one byte at a time works), running
 * the callbacks as events complete. Only CRLF line endings are accepted. The preamble before
 * the first boundary and the epilogue after the close delimiter are skipped. Returns
 * MULTIPART_OK or the error; errors are sticky: every later call returns the same one.
 */
enum multipart_err multipart_feed(struct multipart *p, const char *data, size_t len)
        __attribute__((warn_unused_result));

/*
 * Says whether the input ended cleanly: MULTIPART_OK when the close delimiter was read, the
 * sticky error if one happened, else MULTIPART_ERR_NO_FINAL_BOUNDARY (which then sticks).
 */
enum multipart_err multipart_finish(struct multipart *p) __attribute__((warn_unused_result));

/* The value a callback returned to stop p with MULTIPART_ERR_ABORTED; 0 otherwise. */
int multipart_abort_code(const struct multipart *p);

/*
 * The message for p's current error with its cap filled in ("part headers larger than 8192
 * bytes", "more than 64 parts"), or "no error". Owned by p, valid until the next call on p.
 */
const char *multipart_message(struct multipart *p);

/*
 * Turns the client file name in[0..inlen) into a display name in out (always NUL-terminated,
 * outsize >= 1): directory components before the last '/' or '\' dropped; each invalid UTF-8
 * sequence (overlong, surrogate, past U+10FFFF, truncated: one per maximal subpart) replaced
 * by U+FFFD; C0/C1 controls, DEL and bidirectional formatting characters removed; leading and
 * trailing spaces trimmed; "." and ".." become ""; cut to MULTIPART_FILENAME_MAX bytes (or
 * outsize - 1) without splitting a character. Returns the length written, possibly 0: the
 * caller then picks a name of its own. The result is data for display, not a safe path.
 */
size_t multipart_filename_sanitize(const char *in, size_t inlen, char *out, size_t outsize);

#endif
