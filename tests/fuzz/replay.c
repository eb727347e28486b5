/* replay.c: runs one fuzz target's LLVMFuzzerTestOneInput over its seed corpus and regression
 * inputs without libFuzzer, so `make check` replays them under the build's sanitizers. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET names the target, e.g. -DFUZZ_TARGET='\"range\"'"
#endif

/* Largest input replayed; libFuzzer's own inputs are far smaller (-max_len). */
#define REPLAY_MAX_BYTES (4 * 1024 * 1024)

/* Feeds the file at path to the target in a buffer of exactly its size (so ASan sees a read
 * past the end). Returns 0, or -1 when the file cannot be read. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	long size;
	int rc = -1;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	size = ftell(f);
	if (size < 0 || size > REPLAY_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s (or larger than %d bytes)\n", path, REPLAY_MAX_BYTES);
		goto out;
	}
	/* malloc(0) may give NULL: keep one byte, hand over size. */
	data = malloc(size > 0 ? (size_t)size : 1);
	if (data == NULL || (size > 0 && fread(data, 1, (size_t)size, f) != (size_t)size)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	printf("  %s (%ld bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	rc = 0;
out:
	free(data);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int replay_skip(const struct dirent *d)
{
	return d->d_name[0] != '.' && strncmp(d->d_name, "README", 6) != 0;
}

/* Replays every file of dir in name order; a missing dir counts as empty when optional.
 * Returns the number of files, or -1. */
static long replay_dir(const char *dir, bool optional)
{
	struct dirent **names = NULL;
	char path[4096];
	long n = 0;
	int i, count;

	count = scandir(dir, &names, replay_skip, alphasort);
	if (count < 0) {
		if (optional && errno == ENOENT)
			return 0;
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (n >= 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			n = replay_file(path) == 0 ? n + 1 : -1;
		}
		free(names[i]);
	}
	free(names);
	return n;
}

/* Replays a file, or a folder's files. Returns the number of inputs, or -1. */
static long replay_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(path, false);
	return replay_file(path) == 0 ? 1 : -1;
}

/*
 * With arguments: replays those files and folders (a crash input saved by libFuzzer, say).
 * Without: tests/fuzz/corpus/<target> (required) and tests/fuzz/regressions/<target> under
 * $abs_top_srcdir (make check sets it; "." otherwise).
 */
int main(int argc, char **argv)
{
	const char *top = getenv("abs_top_srcdir");
	char dir[4096];
	long corpus, regressions, n;
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			n = replay_path(argv[i]);
			if (n < 0)
				return 1;
		}
		printf("replay %s: %d paths, no failure\n", FUZZ_TARGET, argc - 1);
		return 0;
	}
	if (top == NULL || top[0] == '\0')
		top = ".";
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top, FUZZ_TARGET);
	corpus = replay_dir(dir, false);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", top, FUZZ_TARGET);
	regressions = corpus < 0 ? -1 : replay_dir(dir, true);
	if (corpus <= 0 || regressions < 0) {
		fprintf(stderr, "replay %s: %s\n", FUZZ_TARGET,
		        corpus == 0 ? "the seed corpus is empty" : "could not read the inputs");
		return 1;
	}
	printf("replay %s: %ld seeds and %ld regression inputs, no failure\n", FUZZ_TARGET, corpus,
	       regressions);
	return 0;
}
