/* verr.c: filling a validation failure. */
#include "config.h"

#include "util/verr.h"

#include <stdarg.h>
#include <stdio.h>

void verr_set(struct verr *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	e->field = field;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}
