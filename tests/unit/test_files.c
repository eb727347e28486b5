/* test_files.c: unit tests of the media root's path safety (store/files.c): which relative names
 * the server accepts, how they are joined to the root, and that nothing else is touched. */
#include "config.h"

#include "store/files.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char root[64]; /* a media root of our own, with uploads/ and outputs/ */

static void test_rel_ok_accepts_server_made_names(void)
{
	static const char *const good[] = {
		"uploads/a.png",
		"outputs/1700000000000-0123abcd.mp4",
		"outputs/0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f10-rendered.mp4",
		"uploads/A_b-C.9",
		"uploads/x",
		"outputs/no-extension",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++) {
		CU_ASSERT_TRUE(files_rel_ok(good[i]));
		if (!files_rel_ok(good[i]))
			fprintf(stderr, "\n  refused: \"%s\"", good[i]);
	}
}

static void test_rel_ok_refuses_what_could_leave_the_folder(void)
{
	static const char *const bad[] = {
		"",
		"uploads",
		"uploads/",
		"outputs/",
		"/uploads/a.png",
		"/etc/passwd",
		"uploads/../etc/passwd",
		"uploads/..",
		"uploads/.",
		"../uploads/a.png",
		"./uploads/a.png",
		"uploads/a/b.png",
		"uploads//a.png",
		"uploads/a/../../b",
		"uploads/.hidden",
		"uploads/.tmp-0123.part", /* a temporary file is never a row's path */
		"outputs/.tmp-j-a1.mp4",
		"Uploads/a.png",
		"UPLOADS/a.png",
		"uploadsx/a.png",
		"upload/a.png",
		"other/a.png",
		"a.png",
		"uploads/a b.png",
		"uploads/a\tb",
		"uploads/a\nb",
		"uploads/a%2e%2e",
		"uploads/a\\..\\b",
		"uploads/a:b",
		"uploads/~a",
		"uploads/a*",
		"uploads/\xc3\xa9.png",
		"uploads/a.png\x7f",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		CU_ASSERT_FALSE(files_rel_ok(bad[i]));
		if (files_rel_ok(bad[i]))
			fprintf(stderr, "\n  accepted: \"%s\"", bad[i]);
	}
}

static void test_rel_ok_caps_the_name_at_200_bytes(void)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "uploads/%0200d", 0);
	CU_ASSERT_EQUAL(strlen(rel), 8 + 200);
	CU_ASSERT_TRUE(files_rel_ok(rel));
	snprintf(rel, sizeof(rel), "uploads/%0201d", 0);
	CU_ASSERT_FALSE(files_rel_ok(rel));
}

static void test_abs_joins_root_and_name(void)
{
	char out[128];

	CU_ASSERT_TRUE(files_abs("/srv/media", "uploads/a.png", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "/srv/media/uploads/a.png");
	CU_ASSERT_TRUE(files_abs("/srv/media", "outputs/b.mp4", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "/srv/media/outputs/b.mp4");
}

static void test_abs_refuses_a_name_rel_ok_refuses(void)
{
	static const char *const bad[] = { "uploads/../../etc/passwd", "/etc/passwd", "uploads/", "x/a" };
	char out[128];
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++)
		CU_ASSERT_FALSE(files_abs("/srv/media", bad[i], out, sizeof(out)));
}

static void test_abs_refuses_a_path_that_does_not_fit(void)
{
	/* "/srv/media/uploads/a.png" is 24 bytes and its NUL. */
	char out[25];

	CU_ASSERT_TRUE(files_abs("/srv/media", "uploads/a.png", out, 25));
	CU_ASSERT_STRING_EQUAL(out, "/srv/media/uploads/a.png");
	CU_ASSERT_FALSE(files_abs("/srv/media", "uploads/a.png", out, 24));
	CU_ASSERT_FALSE(files_abs("/srv/media", "uploads/a.png", out, 1));
}

static void test_new_name_is_one_rel_ok_accepts(void)
{
	char a[128], b[128];
	unsigned long long ms;
	unsigned hex;
	char ext[16];

	files_new_name("uploads", "png", a, sizeof(a));
	files_new_name("uploads", "png", b, sizeof(b));
	CU_ASSERT_TRUE(files_rel_ok(a));
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(sscanf(a, "uploads/%llu-%8x.%15s", &ms, &hex, ext), 3);
	CU_ASSERT_STRING_EQUAL(ext, "png");
	CU_ASSERT_TRUE(ms > 1600000000000ULL);
	CU_ASSERT_EQUAL(strlen(a), strlen("uploads/") + 13 + 1 + 8 + strlen(".png"));
}

/* Makes root/rel with some bytes in it. */
static void make_file(const char *rel)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("data", f);
	fclose(f);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return access(p, F_OK) == 0;
}

static void test_remove_refuses_names_outside_the_folders(void)
{
	make_file("victim");
	make_file("uploads/.hidden");
	CU_ASSERT_EQUAL(files_remove(root, "uploads/../victim"), EINVAL);
	CU_ASSERT_EQUAL(files_remove(root, "victim"), EINVAL);
	CU_ASSERT_EQUAL(files_remove(root, "uploads/.hidden"), EINVAL);
	CU_ASSERT_TRUE(exists("victim"));
	CU_ASSERT_TRUE(exists("uploads/.hidden"));
}

static void test_remove_removes_a_file_and_a_missing_one_is_no_error(void)
{
	make_file("uploads/gone.png");
	CU_ASSERT_EQUAL(files_remove(root, "uploads/gone.png"), 0);
	CU_ASSERT_FALSE(exists("uploads/gone.png"));
	CU_ASSERT_EQUAL(files_remove(root, "uploads/gone.png"), 0);
}

static void test_commit_refuses_a_bad_name_and_discard_cleans_up(void)
{
	struct tmpfile t;
	char tmp[FILES_PATH_MAX];

	tmpfile_init(&t);
	CU_ASSERT_EQUAL_FATAL(tmpfile_create(&t, root, "uploads"), 0);
	CU_ASSERT_EQUAL(tmpfile_write(&t, "abc", 3), 0);
	CU_ASSERT_EQUAL(tmpfile_sync(&t), 0);
	snprintf(tmp, sizeof(tmp), "%s", t.path);
	CU_ASSERT_EQUAL(strncmp(tmp, root, strlen(root)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(tmp, "/uploads/.tmp-"));
	CU_ASSERT_EQUAL(tmpfile_commit(&t, root, "uploads/../escaped"), EINVAL);
	CU_ASSERT_EQUAL(tmpfile_commit(&t, root, "/tmp/escaped"), EINVAL);
	CU_ASSERT_FALSE(exists("escaped"));
	CU_ASSERT_EQUAL(access(tmp, F_OK), 0);
	tmpfile_discard(&t);
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
	tmpfile_discard(&t);
}

static void test_commit_renames_into_place(void)
{
	struct tmpfile t;
	char tmp[FILES_PATH_MAX];

	tmpfile_init(&t);
	CU_ASSERT_EQUAL_FATAL(tmpfile_create(&t, root, "outputs"), 0);
	CU_ASSERT_EQUAL(tmpfile_write(&t, "abc", 3), 0);
	CU_ASSERT_EQUAL(tmpfile_sync(&t), 0);
	snprintf(tmp, sizeof(tmp), "%s", t.path);
	CU_ASSERT_EQUAL(tmpfile_commit(&t, root, "outputs/done.mp4"), 0);
	CU_ASSERT_TRUE(exists("outputs/done.mp4"));
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
	/* Once renamed, a discard leaves the file where it now lives. */
	tmpfile_discard(&t);
	CU_ASSERT_TRUE(exists("outputs/done.mp4"));
	CU_ASSERT_EQUAL(files_remove(root, "outputs/done.mp4"), 0);
}

static int suite_init(void)
{
	char p[128];

	snprintf(root, sizeof(root), "/tmp/mediad-files-XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/uploads", root);
	if (mkdir(p, 0700) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/outputs", root);
	return mkdir(p, 0700);
}

static int suite_cleanup(void)
{
	static const char *const left[] = { "victim", "uploads/.hidden", "uploads", "outputs", "" };
	char p[128];
	size_t i;

	for (i = 0; i < ARRAY_LEN(left); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, left[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	return 0;
}

static const struct unit_test tests[] = {
	{ "rel_ok accepts the names the server makes", test_rel_ok_accepts_server_made_names },
	{ "rel_ok refuses whatever could leave uploads/ or outputs/",
	  test_rel_ok_refuses_what_could_leave_the_folder },
	{ "rel_ok caps the name at 200 bytes", test_rel_ok_caps_the_name_at_200_bytes },
	{ "abs joins the root and the name", test_abs_joins_root_and_name },
	{ "abs refuses a name rel_ok refuses", test_abs_refuses_a_name_rel_ok_refuses },
	{ "abs refuses a path that does not fit, never cuts it", test_abs_refuses_a_path_that_does_not_fit },
	{ "new_name makes a name rel_ok accepts", test_new_name_is_one_rel_ok_accepts },
	{ "remove refuses names outside the folders", test_remove_refuses_names_outside_the_folders },
	{ "remove removes; a missing file is no error",
	  test_remove_removes_a_file_and_a_missing_one_is_no_error },
	{ "commit refuses a bad name; discard cleans up",
	  test_commit_refuses_a_bad_name_and_discard_cleans_up },
	{ "commit renames into place", test_commit_renames_into_place },
};

UNIT_SUITES(UNIT_SUITE("files", suite_init, suite_cleanup, tests));
