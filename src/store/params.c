/* params.c: statement parameters without a hand-made buffer per number. */
#include "config.h"

#include "store/params.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

/* The next slot; a statement with more than PARAMS_MAX parameters is a bug of ours. */
static int slot(struct params *p)
{
	assert(p->n >= 0 && p->n < PARAMS_MAX);
	return p->n++;
}

void params_int(struct params *p, int64_t v)
{
	int i = slot(p);

	snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, v);
	p->values[i] = p->num[i];
}

void params_int_or_null(struct params *p, int64_t v, int64_t none)
{
	if (v <= none)
		params_null(p);
	else
		params_int(p, v);
}

void params_str(struct params *p, const char *s)
{
	p->values[slot(p)] = s;
}

void params_str_or_null(struct params *p, const char *s)
{
	params_str(p, s != NULL && s[0] != '\0' ? s : NULL);
}

void params_bool(struct params *p, bool b)
{
	params_str(p, b ? "t" : "f");
}

void params_null(struct params *p)
{
	params_str(p, NULL);
}
