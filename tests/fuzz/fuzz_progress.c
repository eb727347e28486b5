/* fuzz_progress.c: libFuzzer target for the ffmpeg -progress parser. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "render/progress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fed whole and fed a byte at a time, the parser must agree, and percent stays in 0..100. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct progress a, b;
	size_t i;

	progress_init(&a, 5000000);
	progress_init(&b, 5000000);
	progress_feed(&a, (const char *)data, size);
	for (i = 0; i < size; i++)
		progress_feed(&b, (const char *)data + i, 1);
	if (progress_percent(&a) != progress_percent(&b) || progress_percent(&a) < 0 ||
	    progress_percent(&a) > 100)
		abort();
	return 0;
}
