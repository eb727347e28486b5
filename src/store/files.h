/* files.h: the media root: server-made names, temp file + fsync + rename, removal. */
#ifndef MEDIAD_FILES_H
#define MEDIAD_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILES_PATH_MAX 4096

/* A file being written under a temporary name in the folder it will live in. */
struct tmpfile {
	int fd;                    /* -1 when closed */
	char path[FILES_PATH_MAX]; /* absolute temporary path; "" when nothing exists on disk */
};

void tmpfile_init(struct tmpfile *t);
/* Creates <root>/<dir>/.tmp-<random>.part exclusively. Returns 0 or an errno value. */
int tmpfile_create(struct tmpfile *t, const char *root, const char *dir) __attribute__((warn_unused_result));
/* Writes all of p. Returns 0 or an errno value (ENOSPC and EDQUOT mean the disk is full). */
int tmpfile_write(struct tmpfile *t, const char *p, size_t n) __attribute__((warn_unused_result));
/* fsyncs and closes the file, keeping it on disk under its temporary name. Returns 0 or errno. */
int tmpfile_sync(struct tmpfile *t) __attribute__((warn_unused_result));
/* Renames the synced file to <root>/<rel> and fsyncs the folder. Returns 0 or errno (also when
 * only the folder's fsync failed: the rename may then not survive a crash); once renamed,
 * nothing is left for tmpfile_discard to remove. */
int tmpfile_commit(struct tmpfile *t, const char *root, const char *rel) __attribute__((warn_unused_result));
/* Links the synced file t (a second name for it; t keeps its own) as <root>/<rel> and fsyncs the
 * folder. Returns 0 or errno; on error <root>/<rel> may exist (the folder's fsync failed). */
int tmpfile_link(const struct tmpfile *t, const char *root, const char *rel)
        __attribute__((warn_unused_result));
/* Closes and removes whatever is left. Safe to call more than once. */
void tmpfile_discard(struct tmpfile *t);
/* fsyncs a written file (by path) or a folder, so a rename into it survives a crash. 0 or errno. */
int files_sync(const char *path) __attribute__((warn_unused_result));
int files_sync_dir(const char *dir) __attribute__((warn_unused_result));

/*
 * Write-back of a file being filled from a request body: every FILES_WRITEBACK_BYTES, the bytes
 * written since the last call have their write-back started (sync_file_range WRITE alone, without
 * waiting), so the disk writes while the rest of the body arrives instead of all of it in the
 * fsync at the end, and no more than this is left dirty by one upload. Only a hint: the fsync
 * still makes the file durable and reports errors, so a file system that refuses it (EINVAL,
 * ESPIPE) is not asked again. Start with from = the file's size (or 0), off = false.
 */
#define FILES_WRITEBACK_BYTES (8 * 1024 * 1024)
struct files_writeback {
	uint64_t from; /* bytes before this have had their write-back started */
	bool off;      /* the file system refused sync_file_range */
};
/* Starts the write-back of fd's bytes [w->from, end) once they are FILES_WRITEBACK_BYTES. */
void files_writeback(int fd, struct files_writeback *w, uint64_t end);

/* Makes "<dir>/<unix-ms>-<8 random hex>.<ext>" into out. */
void files_new_name(const char *dir, const char *ext, char *out, size_t outlen);
/* True when rel is a name the server could have made: (uploads|outputs)/[A-Za-z0-9._-]+, no "..". */
bool files_rel_ok(const char *rel);
/* Joins root and a files_rel_ok name into out. Returns false when rel is not one. */
bool files_abs(const char *root, const char *rel, char *out, size_t outlen);
/* Removes <root>/<rel>; a missing file is not an error. Returns 0 or errno. */
int files_remove(const char *root, const char *rel);

/* How deep the folders a render writes go (outputs/<job>/<variant>/<file>): the tree functions
 * below go no deeper, so a stray link or loop cannot take them anywhere. */
#define FILES_TREE_DEPTH 2
/* Removes the folder dir (absolute) and what it holds, symbolic links removed, never followed. A
 * missing folder is not an error. Returns 0 or the first errno. */
int files_remove_tree(const char *dir);
/* files_remove_tree for the folder name in the folder dfd. Returns 0 or errno (ENOENT too). */
int files_remove_tree_at(int dfd, const char *name);
/* fsyncs every regular file below the folder dir and every folder, so its rename survives a
 * crash with its contents. Returns 0 or the first errno. */
int files_sync_tree(const char *dir) __attribute__((warn_unused_result));

#endif
