/* multipart.c: incremental multipart/form-data parser; see multipart.h for the contract. */
#include "config.h"

#include "http/multipart.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "\r\n--" boundary, plus one '-' so "delimiter + first dash" can be replayed as data. */
#define MP_DELIM_PREFIX 4
#define MP_DELIM_SIZE (MP_DELIM_PREFIX + MULTIPART_BOUNDARY_MAX + 1)
/* Sanity bound on max_header_bytes so the allocation below cannot overflow. */
#define MP_HEADER_BYTES_LIMIT ((size_t)1 << 24)
/* From this delimiter length on ("\r\n--" and 28 boundary characters or more: what curl and the
 * browsers send), memmem finds the delimiter in a file part faster than stopping at each of its
 * CRs, which random bytes have one in 256 of; memmem is slower than that for short delimiters. */
#define MP_MEMMEM_MIN 32

enum mp_state {
	MP_PREAMBLE,   /* looking for the first delimiter; bytes are discarded */
	MP_DATA,       /* in a part's body, looking for the next delimiter */
	MP_DELIM_TAIL, /* a whole delimiter matched; the byte after it decides */
	MP_DELIM_CR,   /* delimiter + CR: LF makes it a part boundary */
	MP_DELIM_DASH, /* delimiter + '-': another '-' makes it the close delimiter */
	MP_HEADERS,    /* collecting a part's header block */
	MP_EPILOGUE,   /* after the close delimiter; everything is ignored */
	MP_ERROR
};

struct multipart {
	enum mp_state state;
	enum multipart_err err;
	int abort_code;
	bool in_part; /* on_part_begin ran and on_part_end has not */
	char delim[MP_DELIM_SIZE];
	size_t dlen;  /* length of "\r\n--" boundary */
	size_t match; /* bytes of delim matched so far (held back, not yet data) */
	size_t parts;
	size_t max_parts;
	size_t hdr_max;
	size_t hdr_len;
	size_t line_len; /* bytes of the current header line, CRLF excluded */
	bool hdr_cr;     /* the last header byte was CR */
	char *hdr;       /* hdr_max bytes: the raw header block */
	char *vals;      /* vals_cap bytes: decoded name, filename(s), content type */
	size_t vals_cap;
	struct multipart_callbacks cb;
	void *arg;
	char msg[96];
};

/* A bounds-checked read cursor over bytes that are not NUL-terminated. */
struct mp_cur {
	const char *p;
	size_t n;
};

/* A bounds-checked writer into the parser's value storage. */
struct mp_out {
	char *p;
	size_t len;
	size_t cap;
};

struct mp_param {
	struct mp_cur name;
	struct mp_cur value; /* the token, or what is between the quotes, escapes not undone */
	bool quoted;
};

static const char *const mp_messages[MULTIPART_ERR__COUNT] = {
	[MULTIPART_OK] = "no error",
	[MULTIPART_ERR_NOMEM] = "out of memory",
	[MULTIPART_ERR_ARG] = "invalid argument",
	[MULTIPART_ERR_NOT_FORM_DATA] = "content type is not multipart/form-data",
	[MULTIPART_ERR_BAD_CONTENT_TYPE] = "malformed content type parameters",
	[MULTIPART_ERR_NO_BOUNDARY] = "missing multipart boundary",
	[MULTIPART_ERR_BAD_BOUNDARY] = "invalid multipart boundary",
	[MULTIPART_ERR_BARE_LF] = "line ending is not CRLF",
	[MULTIPART_ERR_BAD_HEADER] = "malformed part header",
	[MULTIPART_ERR_FOLDED_HEADER] = "folded part header line",
	[MULTIPART_ERR_NO_DISPOSITION] = "part without Content-Disposition",
	[MULTIPART_ERR_BAD_DISPOSITION] = "malformed Content-Disposition",
	[MULTIPART_ERR_NO_NAME] = "part without a field name",
	[MULTIPART_ERR_HEADERS_TOO_LARGE] = "part headers too large",
	[MULTIPART_ERR_TOO_MANY_PARTS] = "too many parts",
	[MULTIPART_ERR_NO_FINAL_BOUNDARY] = "missing final boundary",
	[MULTIPART_ERR_ABORTED] = "aborted by the upload handler",
};

const char *multipart_strerror(enum multipart_err e)
{
	if ((unsigned)e >= MULTIPART_ERR__COUNT || mp_messages[e] == NULL)
		return "unknown multipart error";
	return mp_messages[e];
}

/* ---- character classes and cursors ------------------------------------------------------ */

static bool mp_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 7230 tchar. */
static bool mp_is_tchar(unsigned char c)
{
	return mp_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 2046 bchars. */
static bool mp_is_bchar(unsigned char c)
{
	return mp_is_alnum(c) || (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

/* A header value byte: VCHAR, obs-text, SP or HT (no other control). */
static bool mp_is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static unsigned char mp_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int mp_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mp_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether s is lit, ASCII case-insensitively. */
static bool cur_ieq(const struct mp_cur *s, const char *lit)
{
	size_t i, n = strlen(lit);

	if (s->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (mp_lower((unsigned char)s->p[i]) != mp_lower((unsigned char)lit[i]))
			return false;
	return true;
}

static bool cur_peek(const struct mp_cur *c, unsigned char *ch)
{
	if (c->n == 0)
		return false;
	*ch = (unsigned char)c->p[0];
	return true;
}

static void cur_skip(struct mp_cur *c, size_t k)
{
	assert(k <= c->n);
	c->p += k;
	c->n -= k;
}

static bool cur_eat(struct mp_cur *c, char want)
{
	unsigned char ch;

	if (!cur_peek(c, &ch) || ch != (unsigned char)want)
		return false;
	cur_skip(c, 1);
	return true;
}

static void cur_skip_ows(struct mp_cur *c)
{
	unsigned char ch;

	while (cur_peek(c, &ch) && (ch == ' ' || ch == '\t'))
		cur_skip(c, 1);
}

/* Takes one or more tchars into tok. Returns false when there is none. */
static bool cur_token(struct mp_cur *c, struct mp_cur *tok)
{
	size_t k = 0;

	while (k < c->n && mp_is_tchar((unsigned char)c->p[k]))
		k++;
	if (k == 0)
		return false;
	tok->p = c->p;
	tok->n = k;
	cur_skip(c, k);
	return true;
}

/*
 * Takes a quoted-string; inner gets the bytes between the quotes with escapes still in.
 * Returns false when it is unterminated or holds a control character.
 */
static bool cur_quoted(struct mp_cur *c, struct mp_cur *inner)
{
	size_t k = 0;
	unsigned char ch;

	if (!cur_eat(c, '"'))
		return false;
	while (k < c->n) {
		ch = (unsigned char)c->p[k];
		if (ch == '"') {
			inner->p = c->p;
			inner->n = k;
			cur_skip(c, k + 1);
			return true;
		}
		if (!mp_is_value_char(ch))
			return false;
		if (ch == '\\') {
			if (k + 1 >= c->n || !mp_is_value_char((unsigned char)c->p[k + 1]))
				return false;
			k++;
		}
		k++;
	}
	return false;
}

/*
 * Reads the next `; name=value` parameter (whitespace allowed around ';' and '='; empty
 * parameters from stray ';' skipped). Returns 1 with *pm filled, 0 at the end, -1 on garbage.
 */
static int cur_param(struct mp_cur *c, struct mp_param *pm)
{
	unsigned char ch;

	for (;;) {
		cur_skip_ows(c);
		if (c->n == 0)
			return 0;
		if (!cur_eat(c, ';'))
			return -1;
		cur_skip_ows(c);
		if (c->n == 0)
			return 0;
		if (c->p[0] != ';')
			break;
	}
	if (!cur_token(c, &pm->name))
		return -1;
	cur_skip_ows(c);
	if (!cur_eat(c, '='))
		return -1;
	cur_skip_ows(c);
	pm->quoted = cur_peek(c, &ch) && ch == '"';
	if (pm->quoted ? !cur_quoted(c, &pm->value) : !cur_token(c, &pm->value))
		return -1;
	return 1;
}

static bool out_putc(struct mp_out *o, char ch)
{
	if (o->len >= o->cap)
		return false;
	o->p[o->len++] = ch;
	return true;
}

/*
 * Appends a parameter value to o, undoing quoted-string escapes: every "\x" when all_escapes,
 * else only \" and \\ (so backslashes of Windows paths survive). Sets *s and *len to the
 * NUL-terminated result. Returns false when o is full.
 */
static bool out_value(struct mp_out *o, const struct mp_param *pm, bool all_escapes, const char **s,
                      size_t *len)
{
	size_t start = o->len, i;
	char ch;

	for (i = 0; i < pm->value.n; i++) {
		ch = pm->value.p[i];
		if (pm->quoted && ch == '\\' && i + 1 < pm->value.n &&
		    (all_escapes || pm->value.p[i + 1] == '"' || pm->value.p[i + 1] == '\\'))
			ch = pm->value.p[++i];
		if (!out_putc(o, ch))
			return false;
	}
	if (!out_putc(o, '\0'))
		return false;
	*s = o->p + start;
	*len = o->len - start - 1;
	return true;
}

/*
 * Appends the RFC 5987 ext-value v (charset'language'pct-encoded) to o, percent-decoded.
 * Only the UTF-8 charset is accepted. Returns MULTIPART_OK or BAD_DISPOSITION (garbled,
 * other charset, encoded NUL), BAD_HEADER when o is full.
 */
static enum multipart_err out_ext_value(struct mp_out *o, const struct mp_param *pm, const char **s,
                                        size_t *len)
{
	struct mp_cur v = pm->value, charset;
	size_t start = o->len, k;
	unsigned char ch;
	int hi, lo;

	if (pm->quoted)
		return MULTIPART_ERR_BAD_DISPOSITION;
	charset.p = v.p;
	for (k = 0; k < v.n && v.p[k] != '\''; k++)
		;
	charset.n = k;
	if (k == v.n || !cur_ieq(&charset, "UTF-8"))
		return MULTIPART_ERR_BAD_DISPOSITION;
	cur_skip(&v, k + 1);
	for (k = 0; k < v.n && v.p[k] != '\''; k++)
		;
	if (k == v.n)
		return MULTIPART_ERR_BAD_DISPOSITION;
	cur_skip(&v, k + 1);
	while (cur_peek(&v, &ch)) {
		if (ch == '%') {
			if (v.n < 3)
				return MULTIPART_ERR_BAD_DISPOSITION;
			hi = mp_hex((unsigned char)v.p[1]);
			lo = mp_hex((unsigned char)v.p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return MULTIPART_ERR_BAD_DISPOSITION;
			ch = (unsigned char)(hi * 16 + lo);
			cur_skip(&v, 3);
		} else {
			if (ch == '\'' || ch == '*')
				return MULTIPART_ERR_BAD_DISPOSITION;
			cur_skip(&v, 1);
		}
		if (!out_putc(o, (char)ch))
			return MULTIPART_ERR_BAD_HEADER;
	}
	if (!out_putc(o, '\0'))
		return MULTIPART_ERR_BAD_HEADER;
	*s = o->p + start;
	*len = o->len - start - 1;
	return MULTIPART_OK;
}

/* ---- Content-Type ----------------------------------------------------------------------- */

static bool mp_boundary_valid(const char *b, size_t n)
{
	size_t i;

	if (n < 1 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if (!mp_is_bchar((unsigned char)b[i]))
			return false;
	return true;
}

enum multipart_err multipart_boundary_from_content_type(const char *ct, char *out, size_t outlen)
{
	char tmp[MULTIPART_BOUNDARY_MAX + 1];
	struct mp_cur c, type, sub;
	struct mp_param pm;
	struct mp_out o = { tmp, 0, sizeof(tmp) };
	const char *b = NULL;
	size_t blen = 0;
	enum multipart_err rc = MULTIPART_ERR_NOT_FORM_DATA;
	int r;

	if (out == NULL || outlen == 0)
		return MULTIPART_ERR_ARG;
	out[0] = '\0';
	if (ct == NULL)
		goto out;
	c.p = ct;
	c.n = strlen(ct);
	cur_skip_ows(&c);
	if (!cur_token(&c, &type) || !cur_eat(&c, '/') || !cur_token(&c, &sub) ||
	    !cur_ieq(&type, "multipart") || !cur_ieq(&sub, "form-data"))
		goto out;
	rc = MULTIPART_ERR_BAD_CONTENT_TYPE;
	for (;;) {
		r = cur_param(&c, &pm);
		if (r <= 0)
			break;
		if (!cur_ieq(&pm.name, "boundary"))
			continue;
		if (b != NULL)
			goto out;
		/* Too long for tmp means longer than RFC 2046 allows. */
		if (!out_value(&o, &pm, true, &b, &blen)) {
			rc = MULTIPART_ERR_BAD_BOUNDARY;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	rc = MULTIPART_ERR_NO_BOUNDARY;
	if (b == NULL)
		goto out;
	rc = MULTIPART_ERR_BAD_BOUNDARY;
	if (!mp_boundary_valid(b, blen))
		goto out;
	rc = MULTIPART_ERR_ARG;
	if (blen >= outlen)
		goto out;
	memcpy(out, b, blen + 1);
	rc = MULTIPART_OK;
out:
	return rc;
}

/* ---- parser lifetime -------------------------------------------------------------------- */

enum multipart_err multipart_new(struct multipart **out, const char *boundary,
                                 const struct multipart_limits *lim, const struct multipart_callbacks *cb,
                                 void *arg)
{
	struct multipart *p = NULL;
	size_t blen, hdr_max, max_parts;
	enum multipart_err rc;

	*out = NULL;
	blen = boundary != NULL ? strlen(boundary) : 0;
	rc = MULTIPART_ERR_BAD_BOUNDARY;
	if (!mp_boundary_valid(boundary, blen))
		goto out;
	hdr_max = lim != NULL && lim->max_header_bytes ? lim->max_header_bytes :
	                                                 MULTIPART_DEFAULT_MAX_HEADER_BYTES;
	max_parts = lim != NULL && lim->max_parts ? lim->max_parts : MULTIPART_DEFAULT_MAX_PARTS;
	rc = MULTIPART_ERR_ARG;
	if (hdr_max > MP_HEADER_BYTES_LIMIT)
		goto out;
	rc = MULTIPART_ERR_NOMEM;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto out;
	/* Decoded values are no longer than the disjoint raw bytes they come from, plus NULs. */
	p->vals_cap = hdr_max + 4;
	p->hdr = malloc(hdr_max + p->vals_cap);
	if (p->hdr == NULL)
		goto out;
	p->vals = p->hdr + hdr_max;
	p->hdr_max = hdr_max;
	p->max_parts = max_parts;
	memcpy(p->delim, "\r\n--", MP_DELIM_PREFIX);
	memcpy(p->delim + MP_DELIM_PREFIX, boundary, blen);
	p->dlen = MP_DELIM_PREFIX + blen;
	p->delim[p->dlen] = '-';
	/* The body starts as if after a CRLF, so "--boundary" on its first line is a delimiter. */
	p->match = 2;
	p->state = MP_PREAMBLE;
	if (cb != NULL)
		p->cb = *cb;
	p->arg = arg;
	*out = p;
	p = NULL;
	rc = MULTIPART_OK;
out:
	multipart_free(p);
	return rc;
}

void multipart_free(struct multipart *p)
{
	if (p == NULL)
		return;
	free(p->hdr);
	free(p);
}

int multipart_abort_code(const struct multipart *p)
{
	return p->state == MP_ERROR && p->err == MULTIPART_ERR_ABORTED ? p->abort_code : 0;
}

const char *multipart_message(struct multipart *p)
{
	if (p->state != MP_ERROR)
		return multipart_strerror(MULTIPART_OK);
	if (p->err == MULTIPART_ERR_HEADERS_TOO_LARGE)
		snprintf(p->msg, sizeof(p->msg), "part headers larger than %zu bytes", p->hdr_max);
	else if (p->err == MULTIPART_ERR_TOO_MANY_PARTS)
		snprintf(p->msg, sizeof(p->msg), "more than %zu parts", p->max_parts);
	else
		return multipart_strerror(p->err);
	return p->msg;
}

/* ---- events ----------------------------------------------------------------------------- */

/* Records a callback's refusal; returns the error to stop with. */
static enum multipart_err mp_cb_result(struct multipart *p, int r)
{
	if (r == 0)
		return MULTIPART_OK;
	p->abort_code = r;
	return MULTIPART_ERR_ABORTED;
}

/* Hands body bytes of the current part to the caller; the preamble is dropped. */
static enum multipart_err mp_emit(struct multipart *p, const char *data, size_t len)
{
	if (!p->in_part || len == 0 || p->cb.on_part_data == NULL)
		return MULTIPART_OK;
	return mp_cb_result(p, p->cb.on_part_data(p->arg, data, len));
}

static enum multipart_err mp_end_part(struct multipart *p)
{
	if (!p->in_part)
		return MULTIPART_OK;
	p->in_part = false;
	if (p->cb.on_part_end == NULL)
		return MULTIPART_OK;
	return mp_cb_result(p, p->cb.on_part_end(p->arg));
}

/* A delimiter followed by CRLF: the open part ends and a header block follows. */
static enum multipart_err mp_next_part(struct multipart *p)
{
	enum multipart_err rc;

	rc = mp_end_part(p);
	if (rc != MULTIPART_OK)
		return rc;
	if (p->parts >= p->max_parts)
		return MULTIPART_ERR_TOO_MANY_PARTS;
	p->parts++;
	p->hdr_len = 0;
	p->line_len = 0;
	p->hdr_cr = false;
	p->state = MP_HEADERS;
	return MULTIPART_OK;
}

/* The close delimiter: the open part and the body end. */
static enum multipart_err mp_close(struct multipart *p)
{
	enum multipart_err rc;

	rc = mp_end_part(p);
	if (rc != MULTIPART_OK)
		return rc;
	p->state = MP_EPILOGUE;
	if (p->cb.on_body_end == NULL)
		return MULTIPART_OK;
	return mp_cb_result(p, p->cb.on_body_end(p->arg));
}

/*
 * A matched delimiter turned out not to be one: its bytes (plus the '-' after it when
 * with_dash) are data, and scanning resumes with match bytes of a new candidate held.
 */
static enum multipart_err mp_not_delim(struct multipart *p, bool with_dash, size_t match)
{
	p->state = p->in_part ? MP_DATA : MP_PREAMBLE;
	p->match = match;
	return mp_emit(p, p->delim, p->dlen + (with_dash ? 1 : 0));
}

/*
 * For a delimiter not in data[from..len): the length of the start of one that ends the input (the
 * bytes from the only CR of the delimiter on), 0 when there is none. Only the last dlen - 1 bytes
 * can hold it, and at most one CR among them can start it (the boundary holds no CR).
 */
static size_t mp_tail_match(const struct multipart *p, const char *data, size_t len, size_t from)
{
	size_t j = len - from >= p->dlen ? len - (p->dlen - 1) : from;
	const char *cr;

	while (j < len) {
		cr = memchr(data + j, '\r', len - j);
		if (cr == NULL)
			break;
		j = (size_t)(cr - data);
		if (memcmp(data + j, p->delim, len - j) == 0)
			return len - j;
		j++;
	}
	return 0;
}

/*
 * Scans data[*pos..len) for the delimiter, handing body bytes on as runs of the input. Bytes
 * that may start a delimiter are held back (they equal delim[0..match)), so nothing of the
 * input is kept across calls. The boundary holds no CR, so a failed match never overlaps a
 * new one except at the failing byte itself: no KMP table needed.
 */
static enum multipart_err mp_scan(struct multipart *p, const char *data, size_t len, size_t *pos)
{
	size_t i = *pos, run = *pos;
	size_t held = p->match; /* bytes of the candidate that came in earlier calls */
	const char *cr;
	enum multipart_err rc = MULTIPART_OK;

	while (i < len) {
		if (p->match == 0 && p->dlen >= MP_MEMMEM_MIN) {
			/* No candidate is held here (held is 0 once match is): the rest of the input alone
			 * decides. */
			cr = memmem(data + i, len - i, p->delim, p->dlen);
			if (cr != NULL) {
				rc = mp_emit(p, data + run, (size_t)(cr - data) - run);
				i = (size_t)(cr - data) + p->dlen;
				p->state = MP_DELIM_TAIL;
				goto out;
			}
			p->match = mp_tail_match(p, data, len, i);
			i = len;
			break;
		}
		if (p->match == 0) {
			cr = memchr(data + i, '\r', len - i);
			if (cr == NULL) {
				i = len;
				break;
			}
			i = (size_t)(cr - data) + 1;
			p->match = 1;
			continue;
		}
		if (data[i] == p->delim[p->match]) {
			i++;
			p->match++;
			if (p->match == p->dlen) {
				rc = mp_emit(p, data + run, i - (p->match - held) - run);
				p->match = 0;
				p->state = MP_DELIM_TAIL;
				goto out;
			}
			continue;
		}
		if (held > 0) {
			/* Part of the candidate is not in this input: replay it from delim. */
			rc = mp_emit(p, p->delim, p->match);
			if (rc != MULTIPART_OK)
				goto out;
			run = i;
			held = 0;
		}
		p->match = 0;
	}
	rc = mp_emit(p, data + run, i - (p->match - held) - run);
out:
	*pos = i;
	return rc;
}

/* ---- part headers ----------------------------------------------------------------------- */

/* Parses the Content-Disposition value v into part, decoding into o. */
static enum multipart_err mp_disposition(struct mp_cur v, struct mp_out *o, struct multipart_part *part)
{
	struct mp_cur type;
	struct mp_param pm;
	const char *fname = NULL, *fext = NULL;
	size_t fname_len = 0, fext_len = 0;
	bool have_name = false;
	enum multipart_err rc;
	int r;

	if (!cur_token(&v, &type) || !cur_ieq(&type, "form-data"))
		return MULTIPART_ERR_BAD_DISPOSITION;
	for (;;) {
		r = cur_param(&v, &pm);
		if (r <= 0)
			break;
		if (cur_ieq(&pm.name, "name")) {
			if (have_name)
				return MULTIPART_ERR_BAD_DISPOSITION;
			have_name = true;
			if (!out_value(o, &pm, false, &part->name, &part->name_len))
				return MULTIPART_ERR_BAD_HEADER;
		} else if (cur_ieq(&pm.name, "filename")) {
			if (fname != NULL)
				return MULTIPART_ERR_BAD_DISPOSITION;
			if (!out_value(o, &pm, false, &fname, &fname_len))
				return MULTIPART_ERR_BAD_HEADER;
		} else if (cur_ieq(&pm.name, "filename*")) {
			if (fext != NULL)
				return MULTIPART_ERR_BAD_DISPOSITION;
			rc = out_ext_value(o, &pm, &fext, &fext_len);
			if (rc != MULTIPART_OK)
				return rc;
		}
	}
	if (r < 0)
		return MULTIPART_ERR_BAD_DISPOSITION;
	if (!have_name || part->name_len == 0)
		return MULTIPART_ERR_NO_NAME;
	part->filename = fext != NULL ? fext : fname;
	part->filename_len = fext != NULL ? fext_len : fname_len;
	return MULTIPART_OK;
}

/*
 * Parses the complete header block in p->hdr (lines already checked to end in CRLF, no bare
 * CR or LF, no folding) into part, whose strings then point into p->vals.
 */
static enum multipart_err mp_parse_headers(struct multipart *p, struct multipart_part *part)
{
	struct mp_cur block = { p->hdr, p->hdr_len }, line, name;
	struct mp_out o = { p->vals, 0, p->vals_cap };
	const char *end;
	size_t k;
	bool have_cd = false;
	enum multipart_err rc;

	memset(part, 0, sizeof(*part));
	part->index = p->parts - 1;
	for (;;) {
		end = memchr(block.p, '\r', block.n);
		/* Unreachable: mp_headers let only CRLF-terminated lines in. */
		if (end == NULL || (size_t)(end - block.p) + 1 >= block.n)
			return MULTIPART_ERR_BAD_HEADER;
		line.p = block.p;
		line.n = (size_t)(end - block.p);
		cur_skip(&block, line.n + 2);
		if (line.n == 0)
			break;
		if (!cur_token(&line, &name) || !cur_eat(&line, ':'))
			return MULTIPART_ERR_BAD_HEADER;
		cur_skip_ows(&line);
		while (line.n > 0 && (line.p[line.n - 1] == ' ' || line.p[line.n - 1] == '\t'))
			line.n--;
		for (k = 0; k < line.n; k++)
			if (!mp_is_value_char((unsigned char)line.p[k]))
				return MULTIPART_ERR_BAD_HEADER;
		if (cur_ieq(&name, "Content-Disposition")) {
			if (have_cd)
				return MULTIPART_ERR_BAD_HEADER;
			have_cd = true;
			rc = mp_disposition(line, &o, part);
			if (rc != MULTIPART_OK)
				return rc;
		} else if (cur_ieq(&name, "Content-Type")) {
			if (part->content_type != NULL)
				return MULTIPART_ERR_BAD_HEADER;
			if (o.cap - o.len < line.n + 1)
				return MULTIPART_ERR_BAD_HEADER;
			memcpy(o.p + o.len, line.p, line.n);
			o.p[o.len + line.n] = '\0';
			part->content_type = o.p + o.len;
			o.len += line.n + 1;
		}
	}
	if (!have_cd)
		return MULTIPART_ERR_NO_DISPOSITION;
	return MULTIPART_OK;
}

/* Collects header bytes from data[*pos..len); at the blank line announces the part. */
static enum multipart_err mp_headers(struct multipart *p, const char *data, size_t len, size_t *pos)
{
	struct multipart_part part;
	enum multipart_err rc = MULTIPART_OK;
	size_t i = *pos;
	unsigned char c;

	while (i < len) {
		c = (unsigned char)data[i];
		if (p->hdr_len >= p->hdr_max) {
			rc = MULTIPART_ERR_HEADERS_TOO_LARGE;
			goto out;
		}
		p->hdr[p->hdr_len++] = (char)c;
		i++;
		if (p->hdr_cr) {
			p->hdr_cr = false;
			if (c != '\n') {
				rc = MULTIPART_ERR_BAD_HEADER;
				goto out;
			}
			if (p->line_len == 0) {
				rc = mp_parse_headers(p, &part);
				if (rc != MULTIPART_OK)
					goto out;
				p->in_part = true;
				p->state = MP_DATA;
				p->match = 0;
				if (p->cb.on_part_begin != NULL)
					rc = mp_cb_result(p, p->cb.on_part_begin(p->arg, &part));
				goto out;
			}
			p->line_len = 0;
			continue;
		}
		if (c == '\r') {
			p->hdr_cr = true;
			continue;
		}
		if (c == '\n') {
			rc = MULTIPART_ERR_BARE_LF;
			goto out;
		}
		if (p->line_len == 0 && (c == ' ' || c == '\t')) {
			/* Whitespace opening the first line is no folding, just garbage. */
			rc = p->hdr_len > 1 ? MULTIPART_ERR_FOLDED_HEADER : MULTIPART_ERR_BAD_HEADER;
			goto out;
		}
		p->line_len++;
	}
out:
	*pos = i;
	return rc;
}

/* ---- feeding ---------------------------------------------------------------------------- */

enum multipart_err multipart_feed(struct multipart *p, const char *data, size_t len)
{
	enum multipart_err rc = MULTIPART_OK;
	size_t i = 0;
	char c;

	if (p->state == MP_ERROR)
		return p->err;
	while (i < len && rc == MULTIPART_OK) {
		switch (p->state) {
		case MP_PREAMBLE:
		case MP_DATA:
			rc = mp_scan(p, data, len, &i);
			break;
		case MP_HEADERS:
			rc = mp_headers(p, data, len, &i);
			break;
		case MP_DELIM_TAIL:
			c = data[i];
			if (c == '\r') {
				p->state = MP_DELIM_CR;
				i++;
			} else if (c == '-') {
				p->state = MP_DELIM_DASH;
				i++;
			} else if (c == '\n' && !p->in_part) {
				rc = MULTIPART_ERR_BARE_LF;
			} else {
				rc = mp_not_delim(p, false, 0);
			}
			break;
		case MP_DELIM_CR:
			if (data[i] == '\n') {
				i++;
				rc = mp_next_part(p);
			} else {
				/* The CR may begin the real delimiter: hold it back. */
				rc = mp_not_delim(p, false, 1);
			}
			break;
		case MP_DELIM_DASH:
			if (data[i] == '-') {
				i++;
				rc = mp_close(p);
			} else {
				rc = mp_not_delim(p, true, 0);
			}
			break;
		case MP_EPILOGUE:
			i = len;
			break;
		case MP_ERROR:
			rc = p->err;
			break;
		}
	}
	if (rc != MULTIPART_OK && p->state != MP_ERROR) {
		p->state = MP_ERROR;
		p->err = rc;
	}
	return rc;
}

enum multipart_err multipart_finish(struct multipart *p)
{
	if (p->state == MP_ERROR)
		return p->err;
	if (p->state == MP_EPILOGUE)
		return MULTIPART_OK;
	p->state = MP_ERROR;
	p->err = MULTIPART_ERR_NO_FINAL_BOUNDARY;
	return p->err;
}

/* ---- file names ------------------------------------------------------------------------- */

/*
 * Decodes one UTF-8 character at s[0..n), n >= 1. Returns its length with *cp set, or 0 when
 * it is invalid, with *bad set to the length of the maximal invalid subpart (>= 1).
 */
static size_t mp_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad)
{
	size_t need, k;
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		v = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		v = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		*bad = 1;
		return 0;
	}
	for (k = 1; k <= need; k++) {
		if (k >= n || s[k] < lo || s[k] > hi) {
			*bad = k;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
		v = (v << 6) | (s[k] & 0x3f);
	}
	*cp = v;
	return need + 1;
}

/* Characters dropped from display names: controls and bidirectional formatting. */
static bool mp_cp_dropped(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t multipart_filename_sanitize(const char *in, size_t inlen, char *out, size_t outsize)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s;
	size_t cap, len = 0, i, n, bad = 0, k;
	uint32_t cp = 0;
	const char *src;

	assert(out != NULL && outsize >= 1);
	cap = outsize - 1 < MULTIPART_FILENAME_MAX ? outsize - 1 : MULTIPART_FILENAME_MAX;
	if (in == NULL) {
		in = "";
		inlen = 0;
	}
	for (i = inlen; i > 0; i--)
		if (in[i - 1] == '/' || in[i - 1] == '\\')
			break;
	s = (const unsigned char *)in + i;
	n = inlen - i;
	while (n > 0) {
		k = mp_utf8_decode(s, n, &cp, &bad);
		if (k == 0) {
			src = replacement;
			k = 3;
		} else if (mp_cp_dropped(cp) || (cp == ' ' && len == 0)) {
			s += k;
			n -= k;
			continue;
		} else {
			src = (const char *)s;
		}
		if (k > cap - len)
			break;
		memcpy(out + len, src, k);
		len += k;
		if (src == replacement)
			k = bad;
		s += k;
		n -= k;
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	if ((len == 1 && out[0] == '.') || (len == 2 && out[0] == '.' && out[1] == '.'))
		len = 0;
	out[len] = '\0';
	return len;
}
