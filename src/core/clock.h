/* clock.h: seconds as doubles, for the daemons' deadlines (monotonic). */
#ifndef MEDIAD_CLOCK_H
#define MEDIAD_CLOCK_H

/* Seconds on the monotonic clock: deadlines and durations, immune to clock changes. */
double clock_mono_s(void);

#endif
