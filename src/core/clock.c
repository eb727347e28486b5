/* clock.c: seconds as doubles (clock.h). */
#include "config.h"

#include "core/clock.h"

#include <time.h>

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double clock_mono_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}
