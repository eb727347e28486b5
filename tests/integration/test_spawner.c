/* test_spawner.c: media-spawner against the real stack: renders with the real ffmpeg, and with
 * tests/fake-ffmpeg its contract (argv, environment, descriptors), progress, failures, retries,
 * timeouts, cancels, leases and two spawners at once; rtest.h says how it is all set up. */
#include "config.h"

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "rtest.h"

/* A finished render from the PNG test, reused by the stream link test. */
static char png_job[RTEST_UUID_LEN + 1];

/* A reason fit for a client: no absolute path (a '/' that starts a word and has another '/'). */
static bool has_abs_path(const char *s)
{
	return itest_matches(s, "(^|[^A-Za-z0-9._~-])/[A-Za-z0-9._~-]+/");
}

/* ---- ffprobe ------------------------------------------------------------------------------------ */

/* ffprobe of MEDIA_ROOT/rel as JSON (streams and format), or NULL. The caller puts it. */
static struct json_object *probe(const char *rel)
{
	static char out[65536];
	char file[PATH_MAX + 300];
	const char *argv[] = { "ffprobe",
		               "-v",
		               "error",
		               "-show_entries",
		               "stream=codec_type,codec_name,width,height,pix_fmt:format=duration",
		               "-of",
		               "json",
		               file,
		               NULL };

	snprintf(file, sizeof(file), "%s/%s", rt.media_root, rel);
	if (itest_run_capture(argv, out, sizeof(out)) != 0)
		return NULL;
	return json_tokener_parse(out);
}

/* The first stream of type kind ("video", "audio") in a probe, or NULL. */
static struct json_object *stream_of(struct json_object *p, const char *kind)
{
	struct json_object *streams = itest_member(p, "streams");
	size_t n = streams ? json_object_array_length(streams) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(streams, i);
		const char *t = itest_member_str(s, "codec_type");
		if (t != NULL && strcmp(t, kind) == 0)
			return s;
	}
	return NULL;
}

static double probe_duration(struct json_object *p)
{
	const char *d = itest_member_str(itest_member(p, "format"), "duration");

	return d ? strtod(d, NULL) : -1.0;
}

/* ---- tests: the real ffmpeg ------------------------------------------------------------------- */

/* Renders the newest asset of pid with the real ffmpeg (--once) and checks the job's answer. */
static void render_real(long long pid, const char *body, char uuid[RTEST_UUID_LEN + 1], char *result,
                        size_t rlen)
{
	struct itest_resp r;
	char want[128];
	const char *ext = body != NULL && strstr(body, "thumbnail") != NULL ? "jpg" : "mp4";

	rtest_enqueue_ok(pid, body, uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "2"), 0);
	rtest_expect_job(uuid, "completed", 5000, &r);
	snprintf(want, sizeof(want), "outputs/%s-rendered.%s", uuid, ext);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "result"), want);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
	CU_ASSERT_TRUE(itest_member_null(r.json, "failedReason"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "startedAt"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "finishedAt"));
	CU_ASSERT_TRUE(itest_member_int(r.json, "outputMediaId") > 0);
	snprintf(result, rlen, "%s", itest_jstr(&r, "result") ? itest_jstr(&r, "result") : "");
	itest_resp_free(&r);
	/* The temporary name is gone; only the final file holds the job's id. */
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 1);
}

static void test_real_png_becomes_5s_h264_mp4(void)
{
	char uuid[RTEST_UUID_LEN + 1], result[256];
	struct json_object *p, *v;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	render_real(pid, NULL, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "h264");
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "pix_fmt"), "yuv420p");
	CU_ASSERT_EQUAL(itest_member_int(v, "width"), 320);
	CU_ASSERT_EQUAL(itest_member_int(v, "height"), 240);
	CU_ASSERT_TRUE(probe_duration(p) >= 4.9 && probe_duration(p) <= 5.1);
	if (!(probe_duration(p) >= 4.9 && probe_duration(p) <= 5.1))
		fprintf(stderr, "test_spawner: PNG render lasts %.3f s\n", probe_duration(p));
	json_object_put(p);
	snprintf(png_job, sizeof(png_job), "%s", uuid);
}

static void test_real_mp4_becomes_h264_aac_mp4(void)
{
	char uuid[RTEST_UUID_LEN + 1], result[256];
	struct json_object *p, *v, *a;
	long long pid = rtest_project_with("clip.mp4", NULL, NULL, 0);

	render_real(pid, NULL, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	a = stream_of(p, "audio");
	CU_ASSERT_FATAL(v != NULL && a != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "h264");
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "pix_fmt"), "yuv420p");
	CU_ASSERT_EQUAL(itest_member_int(v, "width"), 640);
	CU_ASSERT_EQUAL(itest_member_int(v, "height"), 360);
	CU_ASSERT_STRING_EQUAL(itest_member_str(a, "codec_name"), "aac");
	CU_ASSERT_TRUE(probe_duration(p) >= 1.85 && probe_duration(p) <= 2.15);
	json_object_put(p);
}

static void test_real_wav_becomes_mp4_with_video_and_aac(void)
{
	char uuid[RTEST_UUID_LEN + 1], result[256];
	struct json_object *p, *v, *a;
	long long pid = rtest_project_with("tone.wav", NULL, NULL, 0);

	render_real(pid, NULL, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	a = stream_of(p, "audio");
	CU_ASSERT_FATAL(v != NULL && a != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "h264");
	CU_ASSERT_STRING_EQUAL(itest_member_str(a, "codec_name"), "aac");
	CU_ASSERT_TRUE(probe_duration(p) >= 2.8 && probe_duration(p) <= 3.2);
	if (!(probe_duration(p) >= 2.8 && probe_duration(p) <= 3.2))
		fprintf(stderr, "test_spawner: WAV render lasts %.3f s (input 3 s)\n", probe_duration(p));
	json_object_put(p);
}

static void test_real_thumbnail_of_mp4_is_320_wide_jpeg(void)
{
	char uuid[RTEST_UUID_LEN + 1], result[256], body[96];
	struct json_object *p, *v;
	long long asset, pid = rtest_project_with("clip.mp4", &asset, NULL, 0);

	snprintf(body, sizeof(body), "{\"assetId\":%lld,\"preset\":\"thumbnail\"}", asset);
	render_real(pid, body, uuid, result, sizeof(result));
	p = probe(result);
	CU_ASSERT_FATAL(p != NULL);
	v = stream_of(p, "video");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(itest_member_str(v, "codec_name"), "mjpeg");
	CU_ASSERT_EQUAL(itest_member_int(v, "width"), 320);
	CU_ASSERT_EQUAL(itest_member_int(v, "height"), 180);
	json_object_put(p);
}

static void test_render_output_is_media_with_working_stream_link(void)
{
	char path[96], url_path[1024], file[PATH_MAX + 300];
	const char *url, *base = itest_base();
	struct itest_resp r;
	struct stat st;
	long long mid;
	char result[256];

	CU_ASSERT_FATAL(png_job[0] != '\0');
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, png_job, &r) == 0 && r.status == 200);
	mid = itest_member_int(r.json, "outputMediaId");
	snprintf(result, sizeof(result), "%s", itest_jstr(&r, "result") ? itest_jstr(&r, "result") : "");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(mid > 0);
	snprintf(path, sizeof(path), "/media/%lld", mid);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "path"), result);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "kind"), "video");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/media/%lld/stream-url", mid);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	url = itest_jstr(&r, "url");
	CU_ASSERT_FATAL(url != NULL && strncmp(url, base, strlen(base)) == 0);
	snprintf(url_path, sizeof(url_path), "%s", url + strlen(base));
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_request("GET", url_path, NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	snprintf(file, sizeof(file), "%s/%s", rt.media_root, result);
	CU_ASSERT_FATAL(stat(file, &st) == 0);
	CU_ASSERT_EQUAL((long long)r.body_len, (long long)st.st_size);
	CU_ASSERT_TRUE(r.body_len > 8 && memcmp(r.body + 4, "ftyp", 4) == 0);
	itest_resp_free(&r);
}

/* ---- tests: the fake ffmpeg ------------------------------------------------------------------- */

static void test_ffmpeg_gets_contract_argv_minimal_env_no_fds(void)
{
	char uuid[RTEST_UUID_LEN + 1], input[256], copy[PATH_MAX + 16], line[RTEST_PATH_SZ + 64],
	        want_in[RTEST_DIR_SZ + 300];
	char args[64][RTEST_PATH_SZ + 64];
	char real_a[PATH_MAX], real_b[PATH_MAX], *out;
	static const char *const secrets[] = { "DATABASE_URL", "MEDIAD_CONFIG", "REDIS_URL",
		                               "REDIS_SOCKET", "JWT_SECRET",    "STREAM_KEY",
		                               "PGHOST",       "PGPASSWORD",    NULL };
	struct itest_resp r;
	FILE *f;
	int argc = 0, fds = 0, leaked = 0;
	bool in_ok = false;
	long long pid = rtest_project_with("still.png", NULL, input, sizeof(input));

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	rtest_fake_mode("mode=ok\ncopy=%s\nrecord=%s\n", copy, rt.fake_record);
	rtest_enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	rtest_expect_job(uuid, "completed", 5000, &r);
	itest_resp_free(&r);
	f = fopen(rt.fake_record, "re");
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "argv ", 5) == 0 && argc < 64) {
			snprintf(args[argc++], sizeof(args[0]), "%s", line + 5);
		} else if (strncmp(line, "env ", 4) == 0) {
			for (int i = 0; secrets[i] != NULL; i++)
				if (strcmp(line + 4, secrets[i]) == 0) {
					fprintf(stderr, "test_spawner: ffmpeg's environment has %s\n",
					        secrets[i]);
					leaked++;
				}
		} else if (strncmp(line, "fd ", 3) == 0) {
			fprintf(stderr, "test_spawner: ffmpeg inherited descriptor %s\n", line + 3);
			fds++;
		}
	}
	fclose(f);
	CU_ASSERT_EQUAL(leaked, 0);
	CU_ASSERT_EQUAL(fds, 0);
	CU_ASSERT_FATAL(argc >= 12);
	{
		bool nostdin = false, y = false, hide = false, loglevel = false, progress = false,
		     nostats = false;

		for (int i = 1; i < argc - 1; i++) {
			nostdin = nostdin || strcmp(args[i], "-nostdin") == 0;
			y = y || strcmp(args[i], "-y") == 0;
			hide = hide || strcmp(args[i], "-hide_banner") == 0;
			nostats = nostats || strcmp(args[i], "-nostats") == 0;
			loglevel = loglevel ||
			           (strcmp(args[i], "-loglevel") == 0 && strcmp(args[i + 1], "error") == 0);
			progress = progress ||
			           (strcmp(args[i], "-progress") == 0 && strcmp(args[i + 1], "pipe:1") == 0);
			if (strcmp(args[i], "-i") == 0 && strncmp(args[i + 1], "file:", 5) == 0) {
				snprintf(want_in, sizeof(want_in), "%s/%s", rt.media_root, input);
				in_ok = args[i + 1][5] == '/' && realpath(args[i + 1] + 5, real_a) != NULL &&
				        realpath(want_in, real_b) != NULL && strcmp(real_a, real_b) == 0;
			}
		}
		CU_ASSERT_TRUE(nostdin && y && hide && loglevel && progress && nostats);
		CU_ASSERT_TRUE(in_ok);
	}
	/* The last argument: an absolute temporary name in MEDIA_ROOT/outputs, made from the job id. */
	out = args[argc - 1];
	CU_ASSERT_TRUE(out[0] == '/');
	CU_ASSERT_PTR_NOT_NULL(strstr(out, uuid));
	CU_ASSERT_TRUE(strstr(out, "/outputs/") != NULL);
	snprintf(want_in, sizeof(want_in), "%s/outputs/%s-rendered.mp4", rt.media_root, uuid);
	CU_ASSERT_TRUE(strcmp(out, want_in) != 0);
	CU_ASSERT_EQUAL(access(out, F_OK), -1);
	CU_ASSERT_EQUAL(access(want_in, F_OK), 0);
}

static void test_progress_moves_and_is_100_when_completed(void)
{
	char uuid[RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	const char *args[] = { "--concurrency", "1", NULL };
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0), until;
	int between = 0, last = -1, went_back = 0;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	/* The still image's fixed length is 5 s: 15 blocks over 3 s walk out_time_us across it. */
	rtest_fake_mode("mode=slow\nsteps=15\nstep_ms=200\nduration_us=5000000\ncopy=%s\nlog=%s\n", copy,
	                rt.fake_log);
	CU_ASSERT_FATAL(rtest_spawner_start(args, RTEST_FAKE_ENV(NULL)) >= 0);
	rtest_enqueue_ok(pid, NULL, uuid);
	until = itest_now_ms() + 20000;
	for (;;) {
		const char *state;
		long long p;

		CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0 && r.status == 200);
		state = itest_jstr(&r, "state");
		p = itest_member_int(r.json, "progress");
		if (p > 0 && p < 100)
			between++;
		if (p < last)
			went_back++;
		last = (int)p;
		if (rtest_terminal(state) || itest_now_ms() > until)
			break;
		itest_resp_free(&r);
		itest_sleep_ms(50);
	}
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "completed");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	itest_resp_free(&r);
	CU_ASSERT_TRUE(between >= 1);
	CU_ASSERT_EQUAL(went_back, 0);
	if (between == 0)
		fprintf(stderr, "test_spawner: progress never seen strictly between 0 and 100\n");
}

static void test_rejected_input_fails_at_once_with_clean_reason(void)
{
	char uuid[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	const char *reason;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	rtest_fake_mode("mode=fail\nlog=%s\n", rt.fake_log);
	rtest_enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	rtest_expect_job(uuid, "failed", 5000, &r);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
	CU_ASSERT_TRUE(itest_member_null(r.json, "result"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "outputMediaId"));
	reason = itest_jstr(&r, "failedReason");
	CU_ASSERT_FATAL(reason != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "Invalid data"));
	CU_ASSERT_PTR_NULL(strstr(reason, "/some/abs"));
	CU_ASSERT_PTR_NULL(strstr(reason, rt.media_root));
	CU_ASSERT_FALSE(has_abs_path(reason));
	CU_ASSERT_TRUE(strlen(reason) <= 500);
	fprintf(stderr, "  failedReason: \"%s\"\n", reason);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_runs_of(uuid), 1);
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
}

static void test_crash_is_retried_until_max_attempts_then_fails(void)
{
	static struct rtest_run runs[RTEST_MAX_RUNS];
	char uuid[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	const char *args[] = { "--concurrency", "1", NULL };
	const char *reason;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0), first_end = 0, second_start = 0, max;
	int n, seen = 0;

	rtest_fake_mode("mode=crash\nlog=%s\n", rt.fake_log);
	CU_ASSERT_FATAL(rtest_spawner_start(args, RTEST_FAKE_ENV("RENDER_MAX_ATTEMPTS=2", NULL)) >= 0);
	rtest_enqueue_ok(pid, NULL, uuid);
	rtest_expect_job(uuid, "failed", 20000, &r);
	max = rtest_sql_count("SELECT max_attempts FROM render_jobs WHERE id = $1::uuid", uuid);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), max);
	/* The spawner's RENDER_MAX_ATTEMPTS is the limit it retries up to. */
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 2);
	if (itest_member_int(r.json, "attempts") != 2)
		fprintf(stderr,
		        "test_spawner: RENDER_MAX_ATTEMPTS=2 for the spawner, yet %lld attempts (job's max_attempts "
		        "%lld)\n",
		        itest_member_int(r.json, "attempts"), max);
	reason = itest_jstr(&r, "failedReason");
	CU_ASSERT_PTR_NOT_NULL(reason);
	CU_ASSERT_FALSE(reason != NULL && has_abs_path(reason));
	fprintf(stderr, "  failedReason: \"%s\"\n", reason ? reason : "(null)");
	itest_resp_free(&r);
	n = rtest_read_runs(runs, RTEST_MAX_RUNS);
	for (int i = 0; i < n; i++) {
		if (strcmp(runs[i].uuid, uuid) != 0)
			continue;
		if (seen == 0)
			first_end = runs[i].end_ns;
		else if (seen == 1)
			second_start = runs[i].start_ns;
		seen++;
	}
	CU_ASSERT_EQUAL(seen, max);
	/* Backoff: the retry starts about 1 s after the crash, not at once. */
	CU_ASSERT_TRUE(seen >= 2 && second_start - first_end >= 900000000LL);
	if (seen >= 2)
		fprintf(stderr, "  retry started %.2f s after the crash\n",
		        (double)(second_start - first_end) / 1e9);
	/* The partial outputs of both attempts are gone. */
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
}

static void test_timeout_terms_then_kills_and_fails(void)
{
	static struct rtest_run runs[RTEST_MAX_RUNS];
	char uuid[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	const char *args[] = { "--concurrency", "1", NULL };
	const char *reason;
	pid_t left[8];
	long long pid = rtest_project_with("still.png", NULL, NULL, 0), until, attempts;
	int n, procs = -1, termed = 0;

	rtest_fake_mode("mode=hang\nignore_term=1\nlog=%s\n", rt.fake_log);
	CU_ASSERT_FATAL(rtest_spawner_start(args, RTEST_FAKE_ENV("RENDER_TIMEOUT=2", "RENDER_MAX_ATTEMPTS=1",
	                                                         NULL)) >= 0);
	rtest_enqueue_ok(pid, NULL, uuid);
	rtest_expect_job(uuid, "failed", 60000, &r);
	reason = itest_jstr(&r, "failedReason");
	CU_ASSERT_TRUE(reason != NULL && strstr(reason, "timed out after 2 s") != NULL);
	fprintf(stderr, "  failedReason: \"%s\"\n", reason ? reason : "(null)");
	/* A timeout is retryable: it fails once the attempts are used up (the retry count is the crash
	 * test's business). */
	attempts = itest_member_int(r.json, "attempts");
	CU_ASSERT_EQUAL(attempts,
	                rtest_sql_count("SELECT max_attempts FROM render_jobs WHERE id = $1::uuid", uuid));
	itest_resp_free(&r);
	/* Gone, and reaped: no live fake and no zombie of it under our spawner. */
	until = itest_now_ms() + 2000;
	while ((procs = rtest_fake_procs(left, 8)) > 0 && itest_now_ms() < until)
		itest_sleep_ms(50);
	CU_ASSERT_EQUAL(procs, 0);
	n = rtest_read_runs(runs, RTEST_MAX_RUNS);
	for (int i = 0; i < n; i++)
		if (strcmp(runs[i].uuid, uuid) == 0)
			termed += runs[i].term && runs[i].end_ns == 0;
	/* Each run got SIGTERM first (the fake noted and ignored it), then SIGKILL ended it. */
	CU_ASSERT_EQUAL(termed, attempts);
	CU_ASSERT_EQUAL(rtest_runs_of(uuid), attempts);
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
}

static void test_cancel_active_job_stops_ffmpeg_within_2s(void)
{
	char uuid[RTEST_UUID_LEN + 1], path[96], copy[PATH_MAX + 16];
	struct itest_resp r;
	const char *args[] = { "--concurrency", "1", NULL };
	const char *state = NULL;
	pid_t left[8];
	long long pid = rtest_project_with("still.png", NULL, NULL, 0), t0, until, took = -1;
	int procs = -1, files = -1;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	rtest_fake_mode("mode=slow\nsteps=100\nstep_ms=100\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	CU_ASSERT_FATAL(rtest_spawner_start(args, RTEST_FAKE_ENV(NULL)) >= 0);
	rtest_enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_FATAL(rtest_wait_run_started(uuid, 10000));
	/* The scan sees the running fake, and its partial output has a name made from the job id. */
	CU_ASSERT_EQUAL(rtest_fake_procs(left, 8), 1);
	CU_ASSERT_TRUE(rtest_outputs_of(uuid) >= 1);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	t0 = itest_now_ms();
	CU_ASSERT_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_TRUE(r.status == 200 || r.status == 202 || r.status == 204);
	itest_resp_free(&r);
	until = t0 + 2000;
	for (;;) {
		CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0);
		state = itest_jstr(&r, "state");
		procs = rtest_fake_procs(left, 8);
		files = rtest_outputs_of(uuid);
		if ((state != NULL && strcmp(state, "cancelled") == 0 && procs == 0 && files == 0) ||
		    itest_now_ms() > until) {
			took = itest_now_ms() - t0;
			break;
		}
		itest_resp_free(&r);
		itest_sleep_ms(25);
	}
	fprintf(stderr, "  after %lld ms: state %s, %d fake process(es), %d output file(s)\n", took,
	        state ? state : "(none)", procs, files);
	CU_ASSERT_STRING_EQUAL(state, "cancelled");
	CU_ASSERT_TRUE(itest_member_null(r.json, "result"));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(procs, 0);
	CU_ASSERT_EQUAL(files, 0);
	/* And it stays cancelled: not retried, not overwritten by a late "completed". */
	itest_sleep_ms(1500);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuid, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "cancelled");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_runs_of(uuid), 1);
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
}

static int cmp_start(const void *a, const void *b)
{
	const struct rtest_run *x = a, *y = b;
	int c = strcmp(x->uuid, y->uuid);

	if (c != 0)
		return c;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* The most runs in flight at once among runs[0..n) whose ppid is ppid (0: all). */
static int max_in_flight(const struct rtest_run *runs, int n, int ppid)
{
	int best = 0;

	for (int i = 0; i < n; i++) {
		int c = 0;

		if (ppid != 0 && runs[i].ppid != ppid)
			continue;
		for (int j = 0; j < n; j++)
			if ((ppid == 0 || runs[j].ppid == ppid) && runs[j].start_ns <= runs[i].start_ns &&
			    (runs[j].end_ns == 0 || runs[j].end_ns > runs[i].start_ns))
				c++;
		if (c > best)
			best = c;
	}
	return best;
}

static void test_two_spawners_run_50_jobs_exactly_once(void)
{
	static struct rtest_run runs[RTEST_MAX_RUNS];
	static char uuids[50][RTEST_UUID_LEN + 1];
	char copy[PATH_MAX + 16], pidtxt[32];
	const char *a1[] = { "--concurrency", "2", "--name", "it-a", NULL };
	const char *a2[] = { "--concurrency", "2", "--name", "it-b", NULL };
	long long pid = rtest_project_with("still.png", NULL, NULL, 0), until, done = -1;
	int n, s1, s2, by1 = 0, by2 = 0, overlaps = 0, bad = 0;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	snprintf(pidtxt, sizeof(pidtxt), "%lld", pid);
	rtest_fake_mode("mode=ok\nsteps=3\nstep_ms=40\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	s1 = rtest_spawner_start(a1, RTEST_FAKE_ENV(NULL));
	s2 = rtest_spawner_start(a2, RTEST_FAKE_ENV(NULL));
	CU_ASSERT_FATAL(s1 >= 0 && s2 >= 0);
	for (int i = 0; i < 50; i++)
		rtest_enqueue_ok(pid, NULL, uuids[i]);
	until = itest_now_ms() + 90000;
	while ((done = rtest_sql_count("SELECT count(*) FROM render_jobs WHERE project_id = $1::bigint AND "
	                               "state IN ('completed', 'failed', 'cancelled')",
	                               pidtxt)) < 50 &&
	       itest_now_ms() < until)
		itest_sleep_ms(100);
	CU_ASSERT_EQUAL_FATAL(done, 50);
	CU_ASSERT_EQUAL(
	        rtest_sql_count(
	                "SELECT count(*) FROM render_jobs WHERE project_id = $1::bigint AND state = "
	                "'completed' AND attempts = 1 AND progress = 100 AND output_media_id IS NOT NULL",
	                pidtxt),
	        50);
	CU_ASSERT_EQUAL(
	        rtest_sql_count("SELECT count(DISTINCT output_media_id) FROM render_jobs WHERE project_id = "
	                        "$1::bigint",
	                        pidtxt),
	        50);
	n = rtest_read_runs(runs, RTEST_MAX_RUNS);
	qsort(runs, (size_t)n, sizeof(runs[0]), cmp_start);
	for (int i = 0; i < 50; i++) {
		int c = 0;

		for (int k = 0; k < n; k++)
			if (strcmp(runs[k].uuid, uuids[i]) == 0)
				c += strcmp(runs[k].how, "ok") == 0 ? 1 : 100;
		if (c != 1) {
			fprintf(stderr,
			        "test_spawner: job %s ran %d time(s) (100 per run that did not end ok)\n",
			        uuids[i], c);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(n, 50);
	/* No two runs of one output overlap (runs sorted by job, then start). */
	for (int k = 1; k < n; k++)
		if (strcmp(runs[k].uuid, runs[k - 1].uuid) == 0 &&
		    (runs[k - 1].end_ns == 0 || runs[k - 1].end_ns > runs[k].start_ns))
			overlaps++;
	CU_ASSERT_EQUAL(overlaps, 0);
	for (int k = 0; k < n; k++) {
		by1 += runs[k].ppid == (int)rtest_spawner_pid(s1);
		by2 += runs[k].ppid == (int)rtest_spawner_pid(s2);
	}
	fprintf(stderr,
	        "  runs: %d by spawner a, %d by spawner b, at most %d at once (%d and %d per spawner)\n", by1,
	        by2, max_in_flight(runs, n, 0), max_in_flight(runs, n, (int)rtest_spawner_pid(s1)),
	        max_in_flight(runs, n, (int)rtest_spawner_pid(s2)));
	CU_ASSERT_TRUE(by1 > 0 && by2 > 0);
	CU_ASSERT_TRUE(max_in_flight(runs, n, (int)rtest_spawner_pid(s1)) <= 2);
	CU_ASSERT_TRUE(max_in_flight(runs, n, (int)rtest_spawner_pid(s2)) <= 2);
	CU_ASSERT_TRUE(max_in_flight(runs, n, 0) <= 4);
}

static void test_killed_spawner_job_finishes_on_another_attempt(void)
{
	static struct rtest_run runs[RTEST_MAX_RUNS];
	char uuid[RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	const char *a1[] = { "--concurrency", "1", "--name", "it-doomed", NULL };
	const char *a2[] = { "--concurrency", "1", "--name", "it-heir", NULL };
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);
	int s1, s2, n, seen = 0, by2 = 0;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	rtest_fake_mode("mode=slow\nsteps=20\nstep_ms=100\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	s1 = rtest_spawner_start(a1, RTEST_FAKE_ENV("RENDER_LEASE=5", NULL));
	CU_ASSERT_FATAL(s1 >= 0);
	rtest_enqueue_ok(pid, NULL, uuid);
	CU_ASSERT_FATAL(rtest_wait_run_started(uuid, 10000));
	CU_ASSERT_FATAL(kill(rtest_spawner_pid(s1), SIGKILL) == 0);
	CU_ASSERT_FATAL(rtest_spawner_wait(s1, 5000) != -1);
	s2 = rtest_spawner_start(a2, RTEST_FAKE_ENV("RENDER_LEASE=5", NULL));
	CU_ASSERT_FATAL(s2 >= 0);
	rtest_expect_job(uuid, "completed", 40000, &r);
	/* The killed run was the infrastructure's fault: counted as an interruption, not an attempt. */
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
	CU_ASSERT_EQUAL(rtest_sql_count("SELECT interruptions FROM render_jobs WHERE id = $1::uuid", uuid),
	                1);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "progress"), 100);
	itest_resp_free(&r);
	n = rtest_read_runs(runs, RTEST_MAX_RUNS);
	for (int i = 0; i < n; i++)
		if (strcmp(runs[i].uuid, uuid) == 0) {
			seen++;
			by2 += runs[i].ppid == (int)rtest_spawner_pid(s2) && strcmp(runs[i].how, "ok") == 0;
		}
	CU_ASSERT_EQUAL(seen, 2);
	CU_ASSERT_EQUAL(by2, 1);
	/* The final output is there (a temporary file of the killed attempt may be left for gc). */
	CU_ASSERT_TRUE(rtest_outputs_of(uuid) >= 1);
}

static void test_sigterm_releases_running_job_to_another_spawner(void)
{
	char first[RTEST_UUID_LEN + 1], second[RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	const char *a1[] = { "--concurrency", "1", "--name", "it-leaving", NULL };
	const char *a2[] = { "--concurrency", "1", "--name", "it-staying", NULL };
	struct itest_resp r;
	pid_t left[8];
	long long pid = rtest_project_with("still.png", NULL, NULL, 0), t0;
	int s1, st;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	/* 20 s: longer than any reasonable grace period. */
	rtest_fake_mode("mode=slow\nsteps=200\nstep_ms=100\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	/* A long lease: the job must come back because it was released, not because the lease ran out. */
	s1 = rtest_spawner_start(a1, RTEST_FAKE_ENV("RENDER_LEASE=60", NULL));
	CU_ASSERT_FATAL(s1 >= 0);
	rtest_enqueue_ok(pid, NULL, first);
	CU_ASSERT_FATAL(rtest_wait_run_started(first, 10000));
	t0 = itest_now_ms();
	CU_ASSERT_FATAL(kill(rtest_spawner_pid(s1), SIGTERM) == 0);
	itest_sleep_ms(300);
	/* Enqueued while it stops: it must not claim this one. */
	rtest_enqueue_ok(pid, NULL, second);
	st = rtest_spawner_wait(s1, 30000);
	fprintf(stderr, "  the spawner exited %.1f s after SIGTERM\n",
	        (double)(itest_now_ms() - t0) / 1000.0);
	CU_ASSERT_FATAL(st != -1);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(rtest_fake_procs(left, 8), 0);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, first, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, second, &r) == 0);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "waiting");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 0);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_runs_of(second), 0);

	rtest_fake_mode("mode=ok\nsteps=3\nstep_ms=20\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	CU_ASSERT_FATAL(rtest_spawner_start(a2, RTEST_FAKE_ENV("RENDER_LEASE=60", NULL)) >= 0);
	rtest_expect_job(first, "completed", 15000, &r);
	itest_resp_free(&r);
	rtest_expect_job(second, "completed", 15000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(rtest_runs_of(first), 2);
	CU_ASSERT_EQUAL(rtest_runs_of(second), 1);
}

static void test_once_runs_ready_jobs_and_exits_0(void)
{
	char uuids[3][RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);
	int st;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	rtest_fake_mode("mode=ok\nsteps=3\nstep_ms=50\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	for (int i = 0; i < 3; i++)
		rtest_enqueue_ok(pid, NULL, uuids[i]);
	st = rtest_spawner_once(RTEST_FAKE_ENV(NULL), "2");
	CU_ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(rtest_get_job(rt.tok_a, uuids[i], &r) == 0);
		CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "completed");
		CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 1);
		itest_resp_free(&r);
		CU_ASSERT_EQUAL(rtest_runs_of(uuids[i]), 1);
	}
}

/* The ffprobe of the output reads it from its stdin; a WAV's length comes only from the file's
 * size, so that answer lacks it and the output is probed again by its path. */
static void test_output_length_a_stream_cannot_tell_is_probed_by_path(void)
{
	char uuid[RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);
	int st;

	snprintf(copy, sizeof(copy), "%s/tone.wav", rt.fixtures);
	rtest_fake_mode("mode=ok\nsteps=2\nstep_ms=50\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	rtest_enqueue_ok(pid, NULL, uuid);
	st = rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1");
	CU_ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rtest_expect_job(uuid, "completed", 5000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        rtest_sql_count("SELECT count(*) FROM render_jobs j JOIN media m ON m.id = j.output_media_id "
	                        "WHERE j.id = $1::uuid AND m.duration_ms BETWEEN 2900 AND 3100",
	                        uuid),
	        1);
}

/* Without ffprobe the output cannot be checked: the spawner's fault, so the job goes back
 * uncharged and --once exits 1, as when ffmpeg is missing. */
static void test_missing_ffprobe_gives_the_job_back(void)
{
	char uuid[RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);
	int st;

	snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
	rtest_fake_mode("mode=ok\nsteps=2\nstep_ms=50\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
	rtest_enqueue_ok(pid, NULL, uuid);
	st = rtest_spawner_once(RTEST_FAKE_ENV("FFPROBE_PATH=/nonexistent/ffprobe", NULL), "1");
	CU_ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CU_ASSERT_EQUAL(rtest_runs_of(uuid), 1);
	CU_ASSERT_EQUAL(rtest_sql_count("SELECT count(*) FROM render_jobs WHERE id = $1::uuid AND "
	                                "state = 'waiting' AND attempts = 0",
	                                uuid),
	                1);
	CU_ASSERT_EQUAL(rtest_outputs_of(uuid), 0);
}

int main(void)
{
	CU_pSuite s;

	if (rtest_init("test_spawner") != 0)
		return 1;
	s = CU_add_suite_with_setup_and_teardown("spawner", NULL, NULL, rtest_test_setup,
	                                         rtest_test_teardown);
	CU_add_test(s, "two users register and log in", rtest_setup_users);
	CU_add_test(s, "real ffmpeg: PNG becomes a 5 s H.264 MP4", test_real_png_becomes_5s_h264_mp4);
	CU_add_test(s, "real ffmpeg: MP4 becomes H.264/AAC MP4", test_real_mp4_becomes_h264_aac_mp4);
	CU_add_test(s, "real ffmpeg: WAV becomes MP4 with video and AAC",
	            test_real_wav_becomes_mp4_with_video_and_aac);
	CU_add_test(s, "real ffmpeg: thumbnail of an MP4 is a 320-wide JPEG",
	            test_real_thumbnail_of_mp4_is_320_wide_jpeg);
	CU_add_test(s, "render output is a media row with a working stream link",
	            test_render_output_is_media_with_working_stream_link);
	CU_add_test(s, "ffmpeg gets the contract's argv, a minimal env and no descriptors",
	            test_ffmpeg_gets_contract_argv_minimal_env_no_fds);
	CU_add_test(s, "progress moves and is 100 when completed",
	            test_progress_moves_and_is_100_when_completed);
	CU_add_test(s, "rejected input fails at once with a clean reason",
	            test_rejected_input_fails_at_once_with_clean_reason);
	CU_add_test(s, "crash is retried until max attempts, then fails",
	            test_crash_is_retried_until_max_attempts_then_fails);
	CU_add_test(s, "timeout: SIGTERM, then SIGKILL, then failed",
	            test_timeout_terms_then_kills_and_fails);
	CU_add_test(s, "cancelling an active job stops ffmpeg within 2 s",
	            test_cancel_active_job_stops_ffmpeg_within_2s);
	CU_add_test(s, "two spawners run 50 jobs exactly once", test_two_spawners_run_50_jobs_exactly_once);
	CU_add_test(s, "kill -9 of a spawner: the job finishes on another attempt",
	            test_killed_spawner_job_finishes_on_another_attempt);
	CU_add_test(s, "SIGTERM: a running job is released to another spawner",
	            test_sigterm_releases_running_job_to_another_spawner);
	CU_add_test(s, "--once runs the ready jobs and exits 0", test_once_runs_ready_jobs_and_exits_0);
	CU_add_test(s, "an output whose length a stream cannot tell is probed by its path",
	            test_output_length_a_stream_cannot_tell_is_probed_by_path);
	CU_add_test(s, "missing ffprobe: the job goes back, --once exits 1",
	            test_missing_ffprobe_gives_the_job_back);
	return rtest_run_and_clean();
}
