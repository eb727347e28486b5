/* presets.c: the preset table and the one function that turns a template into an argv. */
#include "config.h"

#include "render/presets.h"

#include "render/rendition.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*
 * A template is a NULL-terminated list of arguments that go between the common head
 * (-nostdin -y -hide_banner -loglevel error -progress pipe:1 -nostats) and the output path.
 * Placeholders, whole arguments only: "{in}" the input as file:<abs> (never a protocol the client
 * could choose), "{still}" the still length in seconds, "{seek}" a seek offset for thumbnails,
 * "{dur}" the input's duration in seconds (audio over an endless still frame: -shortest alone
 * overshoots by a fraction of a second with libx264, so the length is bounded explicitly).
 */
struct preset_variant {
	unsigned input; /* enum preset_input */
	const char *const *args;
};

struct preset {
	const char *name;
	const char *ext;
	const char *output_kind;
	struct preset_variant variants[3];
	/* A rendition preset (render/rendition.h) has no template: its argv depends on the input's
	 * size, and its output is a folder of renditions of the input, not a new media row. */
	enum rend_kind rendition;
};

static const char *const mp4_image[] = {
	"-protocol_whitelist",
	"file",
	"-loop",
	"1",
	"-framerate",
	"25",
	"-i",
	"{in}",
	"-t",
	"{still}",
	"-vf",
	"scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
	"-c:v",
	"libx264",
	"-preset",
	"veryfast",
	"-tune",
	"stillimage",
	"-movflags",
	"+faststart",
	"-f",
	"mp4",
	NULL,
};
static const char *const mp4_video[] = {
	"-protocol_whitelist",
	"file",
	"-i",
	"{in}",
	"-map",
	"0:v:0",
	"-map",
	"0:a:0?",
	"-vf",
	"scale=trunc(iw/2)*2:trunc(ih/2)*2",
	"-c:v",
	"libx264",
	"-preset",
	"veryfast",
	"-pix_fmt",
	"yuv420p",
	"-c:a",
	"aac",
	"-b:a",
	"128k",
	"-movflags",
	"+faststart",
	"-f",
	"mp4",
	NULL,
};
static const char *const mp4_audio[] = {
	"-f",
	"lavfi",
	"-i",
	"color=c=black:s=640x360:r=25",
	"-protocol_whitelist",
	"file",
	"-i",
	"{in}",
	"-map",
	"0:v:0",
	"-map",
	"1:a:0",
	"-t",
	"{dur}",
	"-shortest",
	"-c:v",
	"libx264",
	"-preset",
	"veryfast",
	"-tune",
	"stillimage",
	"-pix_fmt",
	"yuv420p",
	"-c:a",
	"aac",
	"-b:a",
	"128k",
	"-movflags",
	"+faststart",
	"-f",
	"mp4",
	NULL,
};
static const char *const thumb_video[] = {
	"-ss",
	"{seek}",
	"-protocol_whitelist",
	"file",
	"-i",
	"{in}",
	"-frames:v",
	"1",
	"-vf",
	"scale=320:-2",
	"-f",
	"image2",
	"-c:v",
	"mjpeg",
	"-q:v",
	"3",
	NULL,
};
static const char *const thumb_image[] = {
	"-protocol_whitelist",
	"file",
	"-i",
	"{in}",
	"-frames:v",
	"1",
	"-vf",
	"scale=320:-2",
	"-f",
	"image2",
	"-c:v",
	"mjpeg",
	"-q:v",
	"3",
	NULL,
};

static const struct preset presets[] = {
	{ "mp4",
	  "mp4",
	  "video",
	  { { PRESET_IMAGE, mp4_image }, { PRESET_VIDEO, mp4_video }, { PRESET_AUDIO, mp4_audio } },
	  REND_NONE },
	{ "thumbnail",
	  "jpg",
	  "image",
	  { { PRESET_VIDEO, thumb_video }, { PRESET_IMAGE, thumb_image }, { 0, NULL } },
	  REND_NONE },
	{ "hls", "", "rendition", { { PRESET_VIDEO | PRESET_AUDIO, NULL } }, REND_HLS },
	{ "poster", "", "rendition", { { PRESET_VIDEO, NULL } }, REND_POSTER },
	{ "storyboard", "", "rendition", { { PRESET_VIDEO, NULL } }, REND_STORYBOARD },
};

static const char *const head[] = { "-nostdin",  "-y",     "-hide_banner", "-loglevel", "error",
	                            "-progress", "pipe:1", "-nostats",     NULL };

const struct preset *preset_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

const struct preset *preset_at(size_t i)
{
	return i < sizeof(presets) / sizeof(presets[0]) ? &presets[i] : NULL;
}

const char *preset_name(const struct preset *p)
{
	return p->name;
}

const char *preset_ext(const struct preset *p)
{
	return p->ext;
}

const char *preset_output_kind(const struct preset *p)
{
	return p->output_kind;
}

const char *preset_names(void)
{
	return "mp4, thumbnail, hls, poster, storyboard";
}

static unsigned kind_bit(const char *kind)
{
	if (strcmp(kind, "image") == 0)
		return PRESET_IMAGE;
	if (strcmp(kind, "video") == 0)
		return PRESET_VIDEO;
	if (strcmp(kind, "audio") == 0)
		return PRESET_AUDIO;
	return 0;
}

static const char *const *variant(const struct preset *p, const char *kind)
{
	unsigned bit = kind_bit(kind);
	size_t i;

	for (i = 0; i < 3; i++)
		if (p->variants[i].args != NULL && (p->variants[i].input & bit) != 0)
			return p->variants[i].args;
	return NULL;
}

int preset_rendition(const struct preset *p)
{
	return (int)p->rendition;
}

int preset_accepts(const struct preset *p, const char *kind)
{
	unsigned bit = kind_bit(kind);
	size_t i;

	if (p->rendition != REND_NONE) {
		for (i = 0; i < 3; i++)
			if ((p->variants[i].input & bit) != 0)
				return 1;
		return 0;
	}
	return variant(p, kind) != NULL;
}

int preset_argv(const struct preset *p, const char *ffmpeg, const char *input, const char *kind,
                int64_t duration_ms, const char *output, const char **argv, char *scratch, size_t scratchlen,
                int64_t *total_us)
{
	const char *const *args = variant(p, kind);
	char *in = scratch, *still = scratch + scratchlen / 2, *seek = still + 16, *dur = seek + 24;
	int n = 0;
	size_t i;

	if (args == NULL || p->rendition != REND_NONE || scratchlen < 256)
		return -1;
	/* "file:" pins the protocol: a name can never be read as another protocol or an option. */
	snprintf(in, scratchlen / 2, "file:%s", input);
	snprintf(still, 16, "%d", PRESET_STILL_SECONDS);
	/* A thumbnail from 1 s in, or the middle of a shorter clip. */
	if (duration_ms > 0 && duration_ms < 2000)
		snprintf(seek, 24, "%" PRId64 ".%03" PRId64, duration_ms / 2000, (duration_ms / 2) % 1000);
	else
		snprintf(seek, 24, "1");
	/* Unknown duration: a day, with -shortest still ending the output with the audio. */
	if (duration_ms > 0)
		snprintf(dur, 24, "%" PRId64 ".%03" PRId64, duration_ms / 1000, duration_ms % 1000);
	else
		snprintf(dur, 24, "86400");
	argv[n++] = ffmpeg;
	for (i = 0; head[i] != NULL; i++)
		argv[n++] = head[i];
	for (i = 0; args[i] != NULL; i++) {
		if (n >= PRESET_MAX_ARGS - 2)
			return -1;
		if (strcmp(args[i], "{in}") == 0)
			argv[n++] = in;
		else if (strcmp(args[i], "{still}") == 0)
			argv[n++] = still;
		else if (strcmp(args[i], "{seek}") == 0)
			argv[n++] = seek;
		else if (strcmp(args[i], "{dur}") == 0)
			argv[n++] = dur;
		else
			argv[n++] = args[i];
	}
	argv[n++] = output;
	argv[n] = NULL;
	if (strcmp(p->ext, "jpg") == 0)
		*total_us = 0; /* one frame: progress jumps to 100 at the end */
	else if (strcmp(kind, "image") == 0)
		*total_us = (int64_t)PRESET_STILL_SECONDS * 1000000;
	else
		*total_us = duration_ms > 0 ? duration_ms * 1000 : 0;
	return n;
}
