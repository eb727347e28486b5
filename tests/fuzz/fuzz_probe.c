/* fuzz_probe.c: libFuzzer target for probe_classify, over ffprobe's JSON about an uploaded file. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "media/probe.h"

/*
 * Input: one byte for the size of the why buffer (0, 1, 16 or 256 bytes), then ffprobe's
 * stdout, which an uploaded file shapes: names, codecs, numbers and stream lists are the
 * attacker's. The result must keep probe.h's promises whatever the JSON says.
 */

/* A NUL-terminated string of printable ASCII inside its buffer. */
static bool fz_printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size), i;

	if (n >= size)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t why_sizes[] = { 0, 1, 16, 256 };
	struct probe_result r;
	char why[256 + 1];
	size_t whylen;
	char *json;
	int rc;

	if (size < 1)
		return 0;
	whylen = why_sizes[data[0] & 3];
	/* Exactly the document, not NUL-terminated: probe_classify takes a length. */
	json = malloc(size - 1 > 0 ? size - 1 : 1);
	if (json == NULL)
		return 0;
	memcpy(json, data + 1, size - 1);
	memset(why, 'Z', sizeof(why));
	memset(&r, 0x5a, sizeof(r));
	rc = probe_classify(json, size - 1, &r, whylen ? why : NULL, whylen);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(why[whylen] == 'Z');
	if (whylen > 0)
		FUZZ_CHECK(strnlen(why, whylen) < whylen);
	FUZZ_CHECK(r.kind >= PROBE_OTHER && r.kind <= PROBE_AUDIO);
	FUZZ_CHECK(fz_printable(r.format_name, sizeof(r.format_name)));
	FUZZ_CHECK(fz_printable(r.mime, sizeof(r.mime)));
	FUZZ_CHECK(fz_printable(r.ext, sizeof(r.ext)));
	FUZZ_CHECK(fz_printable(r.video_codec, sizeof(r.video_codec)));
	FUZZ_CHECK(fz_printable(r.audio_codec, sizeof(r.audio_codec)));
	FUZZ_CHECK(fz_printable(r.found, sizeof(r.found)));
	FUZZ_CHECK(strcmp(probe_kind_name(r.kind), "") != 0);
	if (rc == -1) {
		/* Not an ffprobe document: out is reset, why says so. */
		FUZZ_CHECK(r.kind == PROBE_OTHER && r.duration_ms == -1 && r.width == -1 && r.height == -1);
		FUZZ_CHECK(r.format_name[0] == '\0' && r.found[0] == '\0');
		FUZZ_CHECK(whylen < 2 || why[0] != '\0');
	} else if (r.kind == PROBE_OTHER) {
		FUZZ_CHECK(r.mime[0] == '\0' && r.ext[0] == '\0' && r.duration_ms == -1);
		FUZZ_CHECK(r.found[0] != '\0' && (whylen < 2 || why[0] != '\0'));
	} else {
		FUZZ_CHECK(r.mime[0] != '\0' && r.ext[0] != '\0' && r.found[0] != '\0');
		FUZZ_CHECK(whylen == 0 || why[0] == '\0');
		FUZZ_CHECK(r.duration_ms >= -1);
		if (r.kind == PROBE_IMAGE)
			FUZZ_CHECK(r.width > 0 && r.height > 0);
	}
	FUZZ_CHECK((r.width == -1 && r.height == -1) || (r.width > 0 && r.height > 0));
	free(json);
	return 0;
}
