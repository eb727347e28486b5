/* routes.c: the route table. A route that needs a user says ROUTE_AUTH here, nowhere else. */
#include "config.h"

#include "api/routes.h"

#include "api/handlers.h"

const struct route routes[] = {
	{ "GET", "/healthz", handle_healthz, ROUTE_PUBLIC },
#ifdef MEDIAD_TEST_ROUTES
	{ "POST", "/_test/echo", handle_test_echo, ROUTE_PUBLIC },
#endif
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
