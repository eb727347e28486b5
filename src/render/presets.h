/* presets.h: render presets are data: accepted inputs, output extension, an argv template. */
#ifndef MEDIAD_PRESETS_H
#define MEDIAD_PRESETS_H

#include <stddef.h>
#include <stdint.h>

#define PRESET_MAX_ARGS 48
#define PRESET_STILL_SECONDS 5 /* a still image becomes this many seconds of video */

enum preset_input { PRESET_IMAGE = 1 << 0, PRESET_VIDEO = 1 << 1, PRESET_AUDIO = 1 << 2 };

struct preset;

/* The preset called name, or NULL. */
const struct preset *preset_find(const char *name);
/* The i-th preset (from 0), or NULL past the last: for listing them all. */
const struct preset *preset_at(size_t i);
const char *preset_name(const struct preset *p);
/* Whether p accepts input of kind ("image", "video", "audio"). */
int preset_accepts(const struct preset *p, const char *kind);
/* Output file extension ("mp4", "jpg") and the output media kind ("video", "image"). */
const char *preset_ext(const struct preset *p);
const char *preset_output_kind(const struct preset *p);
/* The rendition it makes (enum rend_kind of render/rendition.h), 0 for a preset whose output is a
 * new media row. A rendition preset's ext is "" (its output is a folder) and preset_argv refuses it. */
int preset_rendition(const struct preset *p);
/* Comma-separated names of every preset, for error messages. */
const char *preset_names(void);

/*
 * Builds the ffmpeg argv for input (absolute path) of kind with duration_ms (-1: unknown) into
 * argv[0..PRESET_MAX_ARGS), writing to output (absolute path). String storage for computed values
 * lives in scratch (>= 256 bytes). argv[0] is ffmpeg. Returns the count, or -1 when p does not accept
 * kind. *total_us receives the expected output length for progress (0: unknown).
 */
int preset_argv(const struct preset *p, const char *ffmpeg, const char *input, const char *kind,
                int64_t duration_ms, const char *output, const char **argv, char *scratch, size_t scratchlen,
                int64_t *total_us);

#endif
