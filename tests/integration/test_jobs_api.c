/* test_jobs_api.c: the render job API against the real stack: enqueue, get, list, cancel, and
 * each refusal; rtest.h says how the stack, the spawners and the fake ffmpeg are set up. */
#include "config.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "itest.h"
#include "rtest.h"

/* ---- tests: the job API ------------------------------------------------------------------------- */

static void test_enqueue_answers_202_and_job_is_waiting(void)
{
	char png[256], wav[256], uuid[RTEST_UUID_LEN + 1], want[128], path[96];
	struct itest_resp r;
	long long png_id, pid = rtest_project_with("still.png", &png_id, png, sizeof(png)), wav_id;

	wav_id = rtest_upload_asset(rt.tok_a, pid, "tone.wav", wav, sizeof(wav));
	CU_ASSERT_FATAL(wav_id > 0);
	/* No body: the project's newest asset (the WAV) and the mp4 preset. */
	CU_ASSERT_FATAL(rtest_enqueue(rt.tok_a, pid, NULL, uuid, &r) == 202);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "message"), "Render job enqueued");
	CU_ASSERT_TRUE(itest_matches(uuid, ITEST_UUID_RE));
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "inputFile"), wav);
	snprintf(want, sizeof(want), "outputs/%s-rendered.mp4", uuid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "outputFile"), want);
	itest_resp_free(&r);

	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "id"), uuid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 0);
	CU_ASSERT_TRUE(itest_member_null(r.json, "result"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "failedReason"));
	CU_ASSERT_EQUAL(itest_member_int(r.json, "projectId"), pid);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "preset"), "mp4");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 0);
	CU_ASSERT_TRUE(itest_matches(itest_jstr(&r, "createdAt"),
	                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "startedAt"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "finishedAt"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "outputMediaId"));
	itest_resp_free(&r);

	/* An explicit asset and preset. */
	snprintf(want, sizeof(want), "{\"assetId\":%lld,\"preset\":\"mp4\"}", png_id);
	CU_ASSERT_FATAL(rtest_enqueue(rt.tok_a, pid, want, uuid, &r) == 202);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "inputFile"), png);
	itest_resp_free(&r);

	snprintf(path, sizeof(path), "/projects/%lld/jobs?limit=1", pid);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 2);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "limit"), 1);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "offset"), 0);
	CU_ASSERT_EQUAL(
	        itest_member(r.json, "items") ? json_object_array_length(itest_member(r.json, "items")) : 99,
	        1);
	itest_resp_free(&r);
}

static void test_enqueue_refuses_bad_requests(void)
{
	char uuid[RTEST_UUID_LEN + 1], body[128];
	struct itest_resp r;
	long long empty = itest_new_project(rt.tok_a, "empty", NULL), asset, other_asset, b_asset;
	long long pid = rtest_project_with("still.png", &asset, NULL, 0);
	long long other = rtest_project_with("still.png", &other_asset, NULL, 0);
	long long b_pid = itest_new_project(rt.tok_b, "b's", NULL);
	long st;

	(void)other;
	CU_ASSERT_FATAL(empty > 0 && b_pid > 0);
	b_asset = rtest_upload_asset(rt.tok_b, b_pid, "still.png", NULL, 0);
	CU_ASSERT_FATAL(b_asset > 0);

	st = rtest_enqueue(rt.tok_a, empty, NULL, uuid, &r);
	CU_ASSERT_TRUE(st >= 400 && st < 500);
	CU_ASSERT_TRUE(r.body != NULL && strcasestr(r.body, "asset") != NULL);
	itest_resp_free(&r);

	snprintf(body, sizeof(body), "{\"assetId\":%lld}", other_asset);
	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_a, pid, body, uuid, &r), 404);
	itest_resp_free(&r);
	snprintf(body, sizeof(body), "{\"assetId\":%lld}", b_asset);
	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_a, pid, body, uuid, &r), 404);
	itest_resp_free(&r);

	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_a, pid, "{\"preset\":\"gif\"}", uuid, &r), 400);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "field"), "preset");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_a, pid, "{\"preset\":", uuid, &r), 400);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_a, 999999999, NULL, uuid, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_enqueue(NULL, pid, NULL, uuid, &r), 401);
	itest_resp_free(&r);
	/* Nothing was queued by any of these. */
	snprintf(body, sizeof(body), "%lld", pid);
	CU_ASSERT_EQUAL(
	        rtest_sql_count("SELECT count(*) FROM render_jobs WHERE project_id = $1::bigint", body), 0);
}

static void test_other_users_job_and_project_are_404(void)
{
	char uuid[RTEST_UUID_LEN + 1], path[96];
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	rtest_enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_b, uuid, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, rt.tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_enqueue(rt.tok_b, pid, NULL, uuid, &r), 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/projects/%lld/jobs", pid);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, "not-a-uuid", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, "0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f1g", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, "f84a2c4c-1a23-4e98-b3d5-04c97e2c1f10", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
}

static void test_cancel_waiting_job_is_immediate_and_never_runs(void)
{
	char uuid[RTEST_UUID_LEN + 1], path[96], copy[PATH_MAX + 16];
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	rtest_enqueue_ok(pid, NULL, uuid);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_TRUE(r.status == 200 || r.status == 202 || r.status == 204);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "cancelled");
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "finishedAt"));
	itest_resp_free(&r);
	/* A spawner that comes later leaves it alone. */
	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	rtest_fake_mode("mode=ok\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "2"), 0);
	CU_ASSERT_EQUAL(rtest_runs_of(uuid), 0);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "cancelled");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 0);
	itest_resp_free(&r);
}

int main(void)
{
	CU_pSuite s;

	if (rtest_init("test_jobs_api") != 0)
		return 1;
	s = CU_add_suite_with_setup_and_teardown("jobs api", NULL, NULL, rtest_test_setup,
	                                         rtest_test_teardown);
	CU_add_test(s, "two users register and log in", rtest_setup_users);
	CU_add_test(s, "enqueue answers 202 and the job is waiting",
	            test_enqueue_answers_202_and_job_is_waiting);
	CU_add_test(s, "enqueue refuses bad requests", test_enqueue_refuses_bad_requests);
	CU_add_test(s, "another user's job and project are 404", test_other_users_job_and_project_are_404);
	CU_add_test(s, "cancelling a waiting job is immediate and it never runs",
	            test_cancel_waiting_job_is_immediate_and_never_runs);
	return rtest_run_and_clean();
}
