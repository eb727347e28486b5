/* fuzz.h: what the libFuzzer targets in tests/fuzz share: the entry point and a check macro. */
#ifndef MEDIAD_FUZZ_H
#define MEDIAD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Called by libFuzzer (-fsanitize=fuzzer) or by tests/fuzz/replay.c, once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: says which, then abort(), which libFuzzer and the replay report as a crash. */
#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#endif
