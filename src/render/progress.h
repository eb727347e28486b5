/* progress.h: incremental parser of ffmpeg's "-progress pipe:1" output, fed in arbitrary chunks. */
#ifndef MEDIAD_PROGRESS_H
#define MEDIAD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest "key=value" line kept; a longer line is dropped whole, up to its newline. */
#define PROGRESS_LINE_MAX 1024

/*
 * ffmpeg writes blocks of "key=value\n" lines, each closed by "progress=continue" or
 * "progress=end". The time reached is taken from a block only when its progress line arrives,
 * so a half-written block never shows. Within a block out_time_us wins over out_time_ms (which
 * ffmpeg also prints in microseconds, despite the name), which wins over out_time
 * ("HH:MM:SS.micro"). "N/A", negative values (ffmpeg prints huge negatives before the first
 * packet) and anything malformed are ignored. Read the public fields; the rest is private.
 */
struct progress {
	int64_t total_us;     /* the input's duration in microseconds; <= 0 if unknown */
	int64_t out_time_us;  /* time reached at the last closed block; -1 until known */
	bool ended;           /* "progress=end" was seen */
	unsigned long blocks; /* blocks closed so far */
	/* private */
	int64_t pending_us;
	int pending_rank;
	bool discarding;
	size_t len;
	char line[PROGRESS_LINE_MAX + 1];
};

/* Resets p for a new ffmpeg run over an input of total_us microseconds (<= 0: unknown). */
void progress_init(struct progress *p, int64_t total_us);

/*
 * Feeds the next n bytes of ffmpeg's output; any split is fine, NUL bytes included (a line with
 * one is ignored). Returns how many blocks were closed by these bytes: when non-zero,
 * progress_percent may have changed and is worth recording.
 */
size_t progress_feed(struct progress *p, const void *data, size_t n);

/*
 * Percent done, 0..100: out_time_us against total_us, rounded down and capped at 99 while ffmpeg
 * runs, so 100 means "progress=end" was seen (and is reported even when total_us is unknown).
 * With an unknown total or no time yet it is 0 until the end.
 */
int progress_percent(const struct progress *p);

#endif
