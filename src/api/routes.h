/* routes.h: the one table of every route mediad answers. */
#ifndef MEDIAD_ROUTES_H
#define MEDIAD_ROUTES_H

#include <stddef.h>

#include "http/router.h"

extern const struct route routes[];
extern const size_t routes_count;

#endif
