/* files.c: writes under the media root that a reader never sees half done. */
#include "config.h"

#include "store/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

void tmpfile_init(struct tmpfile *t)
{
	t->fd = -1;
	t->path[0] = '\0';
}

int tmpfile_create(struct tmpfile *t, const char *root, const char *dir)
{
	unsigned char rnd[8];
	char hex[17];
	int n;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	n = snprintf(t->path, sizeof(t->path), "%s/%s/.tmp-%s.part", root, dir, hex);
	if (n < 0 || (size_t)n >= sizeof(t->path)) {
		t->path[0] = '\0';
		return ENAMETOOLONG;
	}
	t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (t->fd < 0) {
		int e = errno;
		t->path[0] = '\0';
		return e;
	}
	return 0;
}

int tmpfile_write(struct tmpfile *t, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(t->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tmpfile_sync(struct tmpfile *t)
{
	int e = 0;

	if (fsync(t->fd) != 0)
		e = errno;
	if (close(t->fd) != 0 && e == 0)
		e = errno;
	t->fd = -1;
	return e;
}

int tmpfile_commit(struct tmpfile *t, const char *root, const char *rel)
{
	char dst[FILES_PATH_MAX], dir[FILES_PATH_MAX];
	const char *slash;

	if (!files_abs(root, rel, dst, sizeof(dst)))
		return EINVAL;
	if (rename(t->path, dst) != 0)
		return errno;
	t->path[0] = '\0';
	/* The rename is durable only once the folder is synced. */
	slash = strrchr(dst, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dst), dst);
	return files_sync_dir(dir);
}

int tmpfile_link(const struct tmpfile *t, const char *root, const char *rel)
{
	char dst[FILES_PATH_MAX], dir[FILES_PATH_MAX];
	const char *slash;

	if (!files_abs(root, rel, dst, sizeof(dst)))
		return EINVAL;
	if (link(t->path, dst) != 0)
		return errno;
	slash = strrchr(dst, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dst), dst);
	return files_sync_dir(dir);
}

int files_sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

	if (dfd < 0)
		return errno;
	if (fsync(dfd) != 0)
		e = errno;
	close(dfd);
	return e;
}

int files_sync(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	return e;
}

void tmpfile_discard(struct tmpfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->path[0] != '\0')
		(void)unlink(t->path);
	t->path[0] = '\0';
}

void files_new_name(const char *dir, const char *ext, char *out, size_t outlen)
{
	unsigned char rnd[4];
	char hex[9];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(out, outlen, "%s/%lld-%s.%s", dir, (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000, hex,
	         ext);
}

bool files_rel_ok(const char *rel)
{
	const char *name;
	size_t i;

	if (strncmp(rel, "uploads/", 8) == 0)
		name = rel + 8;
	else if (strncmp(rel, "outputs/", 8) == 0)
		name = rel + 8;
	else
		return false;
	if (name[0] == '\0' || name[0] == '.' || strlen(name) > 200)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool files_abs(const char *root, const char *rel, char *out, size_t outlen)
{
	int n;

	if (!files_rel_ok(rel))
		return false;
	n = snprintf(out, outlen, "%s/%s", root, rel);
	return n > 0 && (size_t)n < outlen;
}

int files_remove(const char *root, const char *rel)
{
	char p[FILES_PATH_MAX];

	if (!files_abs(root, rel, p, sizeof(p)))
		return EINVAL;
	if (unlink(p) != 0 && errno != ENOENT)
		return errno;
	return 0;
}

/* Removes what lies in the folder dfd (closed here), depth levels deep at most, never following a
 * symbolic link (one is removed as a name). Returns 0 or the first errno. */
static int files_empty_dir(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int e = 0;

	if (d == NULL) {
		e = errno;
		close(dfd);
		return e;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = depth > 0 ? openat(dirfd(d), de->d_name,
			                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
			                      -1;
			int r = sub < 0 ? (depth > 0 ? errno : ENOTEMPTY) : files_empty_dir(sub, depth - 1);

			if (r == 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0)
				r = errno;
			if (r != 0 && e == 0)
				e = r;
		} else if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT && e == 0) {
			e = errno;
		}
	}
	closedir(d);
	return e;
}

int files_remove_tree(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e;

	if (dfd < 0)
		return errno == ENOENT ? 0 : errno;
	e = files_empty_dir(dfd, FILES_TREE_DEPTH);
	if (e == 0 && rmdir(dir) != 0 && errno != ENOENT)
		e = errno;
	return e;
}

int files_remove_tree_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e;

	if (fd < 0)
		return errno;
	e = files_empty_dir(fd, FILES_TREE_DEPTH);
	if (e == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0)
		e = errno;
	return e;
}

/* fsyncs every file in the folder dfd (closed here) and below, then the folder. */
static int files_sync_dirfd(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int e = 0;

	if (d == NULL) {
		e = errno;
		close(dfd);
		return e;
	}
	while ((de = readdir(d)) != NULL && e == 0) {
		struct stat st;
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			e = fd < 0 ? errno : files_sync_dirfd(fd, depth - 1);
		} else if (S_ISREG(st.st_mode)) {
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				e = errno;
			} else {
				if (fsync(fd) != 0)
					e = errno;
				close(fd);
			}
		}
	}
	if (e == 0 && fsync(dirfd(d)) != 0)
		e = errno;
	closedir(d);
	return e;
}

int files_sync_tree(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e = 0;

	if (dfd < 0)
		return errno;
	/*
	 * One syncfs for the whole folder rather than an fsync per file: a two-hour ladder is
	 * thousands of segments, and an fsync each (a journal commit each) would hold the spawner's
	 * single loop, and every other slot's lease renewal, for that long. syncfs flushes the
	 * folder's file system once; the writes ffmpeg made minutes ago are mostly on disk already.
	 * Where syncfs is refused, the files one by one.
	 */
	if (syncfs(dfd) == 0) {
		close(dfd);
		return 0;
	}
	e = errno;
	if (e != ENOSYS && e != EINVAL && e != EPERM) {
		close(dfd);
		return e;
	}
	return files_sync_dirfd(dfd, FILES_TREE_DEPTH);
}

void files_writeback(int fd, struct files_writeback *w, uint64_t end)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (w->off || end < w->from || end - w->from < FILES_WRITEBACK_BYTES)
		return;
	if (sync_file_range(fd, (off_t)w->from, (off_t)(end - w->from), SYNC_FILE_RANGE_WRITE) != 0) {
		w->off = errno != EINTR;
		return;
	}
	w->from = end;
#else
	(void)fd;
	(void)w;
	(void)end;
#endif
}
