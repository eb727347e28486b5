/* clock.h: seconds as doubles, for the daemons' deadlines (monotonic) and timestamps (wall). */
#ifndef MEDIAD_CLOCK_H
#define MEDIAD_CLOCK_H

/* Seconds on the monotonic clock: deadlines and durations, immune to clock changes. */
double clock_mono_s(void);
/* Seconds since the Unix epoch (the wall clock), with the fraction: what is shown or stored. */
double clock_wall_s(void);

#endif
