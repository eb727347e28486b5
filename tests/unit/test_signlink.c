/* test_signlink.c: CUnit tests for signed stream links, against a fixed clock. */
#include "config.h"

#include "auth/signlink.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define NOW INT64_C(1700000000)
#define MEDIA_ID INT64_C(42)
#define EXPIRES INT64_C(1700000600)
#define EXPIRES_STR "1700000600"
/* HMAC-SHA256, key 00 01 .. 1f, over "mediad-stream-v1\n42\n1700000600" (Python hmac). */
#define KNOWN_SIG "v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrM"
#define SEG_PATH "720p/seg_00003.m4s"
/* HMAC-SHA256, the same key, over "mediad-hls-v1\n42\n1700000600\n720p/seg_00003.m4s" (Python hmac). */
#define KNOWN_PATH_SIG "ZXMNiUmoT4M-e9QCXeWJHZuSS5vkMJ4-6OS-T4QCTGQ"

static unsigned char test_key[SIGNLINK_KEY_LEN];

static int suite_init(void)
{
	size_t i;

	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < sizeof(test_key); i++)
		test_key[i] = (unsigned char)i;
	return 0;
}

static void hex_decode(const char *hex, unsigned char out[32])
{
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(sodium_hex2bin(out, 32, hex, strlen(hex), NULL, &len, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(len, 32);
}

static void test_sign_matches_known_answers(void)
{
	static const struct {
		int64_t media_id, expires;
		const char *sig;
	} cases[] = {
		{ MEDIA_ID, EXPIRES, KNOWN_SIG },
		{ -7, 0, "qyYf2p3Me81F1odl1JEgRV_0UlAHcwESqRL9i-osG9I" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		char sig[SIGNLINK_SIG_SIZE];

		CU_ASSERT_EQUAL(
		        signlink_sign(test_key, cases[i].media_id, cases[i].expires, sig, sizeof(sig)), 0);
		CU_ASSERT_STRING_EQUAL(sig, cases[i].sig);
	}
}

static void test_sign_refuses_a_short_buffer(void)
{
	char sig[SIGNLINK_SIG_SIZE];

	CU_ASSERT_EQUAL(signlink_sign(test_key, MEDIA_ID, EXPIRES, sig, SIGNLINK_SIG_SIZE - 1), -1);
	CU_ASSERT_STRING_EQUAL(sig, "");
	CU_ASSERT_EQUAL(signlink_sign(test_key, MEDIA_ID, EXPIRES, NULL, 0), -1);
}

static void test_verify_roundtrip(void)
{
	static const int64_t ids[] = { 1, 42, INT64_MAX, 0, -1 };
	size_t i;

	for (i = 0; i < N_ELEMS(ids); i++) {
		char sig[SIGNLINK_SIG_SIZE];

		CU_ASSERT_EQUAL_FATAL(signlink_sign(test_key, ids[i], EXPIRES, sig, sizeof(sig)), 0);
		CU_ASSERT_EQUAL(strlen(sig), SIGNLINK_SIG_LEN);
		CU_ASSERT_EQUAL(signlink_verify(test_key, ids[i], EXPIRES_STR, sig, NOW, 0), SIGNLINK_OK);
	}
}

static void test_verify_refuses_another_media_id(void)
{
	static const int64_t others[] = { 41, 43, 420, 4, -42, 0 };
	size_t i;

	for (i = 0; i < N_ELEMS(others); i++)
		CU_ASSERT_EQUAL(signlink_verify(test_key, others[i], EXPIRES_STR, KNOWN_SIG, NOW, 0),
		                SIGNLINK_BAD);
}

static void test_verify_refuses_another_key(void)
{
	unsigned char other[SIGNLINK_KEY_LEN];

	memcpy(other, test_key, sizeof(other));
	other[31] ^= 1;
	CU_ASSERT_EQUAL(signlink_verify(other, MEDIA_ID, EXPIRES_STR, KNOWN_SIG, NOW, 0), SIGNLINK_BAD);
}

static void test_verify_refuses_tampered_expires(void)
{
	static const char *const tampered[] = { "1700000601", "1700000599", "2700000600", "170000060",
		                                "17000006000" };
	size_t i;

	for (i = 0; i < N_ELEMS(tampered); i++)
		CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, tampered[i], KNOWN_SIG, NOW, 0),
		                SIGNLINK_BAD);
}

static void test_verify_refuses_malformed_expires(void)
{
	static const char *const bad[] = {
		NULL,
		"",
		"abc",
		"-1700000600",
		"+1700000600",
		" 1700000600",
		"1700000600 ",
		"1700000600\n",
		"01700000600",
		"0x6553f358",
		"1.7e9",
		"1700000600abc",
		"9223372036854775808",
		"99999999999999999999999",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++)
		CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, bad[i], KNOWN_SIG, NOW, 0), SIGNLINK_BAD);
}

static void test_verify_refuses_any_changed_signature_character(void)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t pos, k;

	for (pos = 0; pos < SIGNLINK_SIG_LEN; pos++) {
		for (k = 0; k < sizeof(alphabet) - 1; k++) {
			char sig[] = KNOWN_SIG;

			if (sig[pos] == alphabet[k])
				continue;
			sig[pos] = alphabet[k];
			if (signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, sig, NOW, 0) != SIGNLINK_BAD)
				fprintf(stderr, "\naccepted %s\n", sig);
			CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, sig, NOW, 0),
			                SIGNLINK_BAD);
		}
	}
}

static void test_verify_refuses_malformed_signatures(void)
{
	static const char *const bad[] = {
		NULL,
		"",
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rr",   /* truncated */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrMA", /* one too many */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrM=", /* padded */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrM ", /* trailing blank */
		" v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrM", /* leading blank */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1r+M",  /* standard alphabet */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1r/M",  /* standard alphabet */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1r%M",  /* not base64 */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrN",  /* non-canonical last char */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrO",  /* non-canonical last char */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrP",  /* non-canonical last char */
		"v3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZAFA1rrMv3MjButNrrB2myU9p2nIEYxZRn7ntuZS3BeZ",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(bad); i++)
		CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, bad[i], NOW, 0),
		                SIGNLINK_BAD);
}

static void test_verify_expiry_and_leeway(void)
{
	static const struct {
		int64_t now, leeway;
		enum signlink_result want;
	} cases[] = {
		{ NOW, 0, SIGNLINK_OK },
		{ EXPIRES - 1, 0, SIGNLINK_OK },
		{ EXPIRES, 0, SIGNLINK_OK },
		{ EXPIRES + 1, 0, SIGNLINK_EXPIRED },
		{ EXPIRES + 86400, 0, SIGNLINK_EXPIRED },
		{ EXPIRES + 30, 30, SIGNLINK_OK },
		{ EXPIRES + 31, 30, SIGNLINK_EXPIRED },
		{ EXPIRES + 1, -5, SIGNLINK_EXPIRED },
		{ EXPIRES, -5, SIGNLINK_OK },
		{ INT64_MAX, INT64_MAX, SIGNLINK_OK },
		{ INT64_MAX, 0, SIGNLINK_EXPIRED },
		{ INT64_MIN, 0, SIGNLINK_OK },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		enum signlink_result got = signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, KNOWN_SIG,
		                                           cases[i].now, cases[i].leeway);

		if (got != cases[i].want)
			fprintf(stderr, "\nexpiry case %zu: got %d\n", i, (int)got);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

static void test_verify_forged_expired_link_is_bad_not_expired(void)
{
	char sig[] = KNOWN_SIG;

	sig[0] = 'w';
	CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, sig, EXPIRES + 3600, 0),
	                SIGNLINK_BAD);
	CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, "1", KNOWN_SIG, EXPIRES + 3600, 0), SIGNLINK_BAD);
}

static void test_verify_extreme_expires_values(void)
{
	static const int64_t values[] = { 0, 1, INT64_MAX };
	size_t i;

	for (i = 0; i < N_ELEMS(values); i++) {
		char sig[SIGNLINK_SIG_SIZE], exp[24];

		CU_ASSERT_EQUAL_FATAL(signlink_sign(test_key, MEDIA_ID, values[i], sig, sizeof(sig)), 0);
		snprintf(exp, sizeof(exp), "%lld", (long long)values[i]);
		CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, exp, sig, 0, 0), SIGNLINK_OK);
		CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, exp, sig, 2, 0),
		                values[i] >= 2 ? SIGNLINK_OK : SIGNLINK_EXPIRED);
	}
}

static void test_derive_key_from_jwt_secret(void)
{
	unsigned char key[SIGNLINK_KEY_LEN], again[SIGNLINK_KEY_LEN], want[32], master[32];
	unsigned char other[SIGNLINK_KEY_LEN], setting[SIGNLINK_KEY_LEN];

	/* Python: blake2b(secret, 32) is the master; blake2b("", 32, key=master,
	 * salt=le64(1) + 8 zero bytes, person="mediastr" + 8 zero bytes) the subkey. */
	hex_decode("e0f95cf0d9a25262fa0299e9da1e3ccef4c1d410bc5d84bade4d9d81eb9425d7", want);
	hex_decode("c32367a6a771f90676f34a28f16e95b6ed061367647d60a5ddd3faca9ab06467", master);
	CU_ASSERT_EQUAL_FATAL(signlink_derive_key("jwt-secret-for-tests", key), 0);
	CU_ASSERT_EQUAL(memcmp(key, want, sizeof(key)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(key, master, sizeof(key)), 0);
	CU_ASSERT_EQUAL_FATAL(signlink_derive_key("jwt-secret-for-tests", again), 0);
	CU_ASSERT_EQUAL(memcmp(key, again, sizeof(key)), 0);
	CU_ASSERT_EQUAL_FATAL(signlink_derive_key("jwt-secret-for-tests!", other), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(key, other, sizeof(key)), 0);
	/* The same string as a stream_key gives a different key. */
	CU_ASSERT_EQUAL_FATAL(signlink_key_from_setting("jwt-secret-for-tests", setting), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(key, setting, sizeof(key)), 0);
}

static void test_key_from_setting(void)
{
	unsigned char key[SIGNLINK_KEY_LEN], want[32];
	char sig[SIGNLINK_SIG_SIZE];

	hex_decode("cfc596191e924f458d617a09c79daaeb8c7a15cd313198ef52e2d57b86e47009", want);
	CU_ASSERT_EQUAL_FATAL(signlink_key_from_setting("stream-key-for-tests", key), 0);
	CU_ASSERT_EQUAL(memcmp(key, want, sizeof(key)), 0);
	CU_ASSERT_EQUAL_FATAL(signlink_sign(key, MEDIA_ID, EXPIRES, sig, sizeof(sig)), 0);
	CU_ASSERT_EQUAL(signlink_verify(key, MEDIA_ID, EXPIRES_STR, sig, NOW, 0), SIGNLINK_OK);
	CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, sig, NOW, 0), SIGNLINK_BAD);
}

static void test_key_functions_refuse_empty_secrets(void)
{
	unsigned char key[SIGNLINK_KEY_LEN], zero[SIGNLINK_KEY_LEN] = { 0 };

	memset(key, 0xaa, sizeof(key));
	CU_ASSERT_EQUAL(signlink_derive_key(NULL, key), -1);
	CU_ASSERT_EQUAL(memcmp(key, zero, sizeof(key)), 0);
	memset(key, 0xaa, sizeof(key));
	CU_ASSERT_EQUAL(signlink_derive_key("", key), -1);
	CU_ASSERT_EQUAL(memcmp(key, zero, sizeof(key)), 0);
	memset(key, 0xaa, sizeof(key));
	CU_ASSERT_EQUAL(signlink_key_from_setting(NULL, key), -1);
	CU_ASSERT_EQUAL(memcmp(key, zero, sizeof(key)), 0);
	memset(key, 0xaa, sizeof(key));
	CU_ASSERT_EQUAL(signlink_key_from_setting("", key), -1);
	CU_ASSERT_EQUAL(memcmp(key, zero, sizeof(key)), 0);
}

/* ---- path-bound signatures (HLS and storyboard files) ---------------------------------------- */

static void test_path_sign_matches_known_answer(void)
{
	char sig[SIGNLINK_SIG_SIZE];

	CU_ASSERT_EQUAL(signlink_sign_path(test_key, MEDIA_ID, EXPIRES, SEG_PATH, sig, sizeof(sig)), 0);
	CU_ASSERT_STRING_EQUAL(sig, KNOWN_PATH_SIG);
	CU_ASSERT_EQUAL(
	        signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, EXPIRES_STR, KNOWN_PATH_SIG, NOW, 0),
	        SIGNLINK_OK);
}

static void test_path_sig_fails_for_another_path(void)
{
	static const char *const others[] = {
		"720p/seg_00004.m4s",  "720p/seg_0003.m4s",  "240p/seg_00003.m4s",  "720p/init_0.mp4",
		"720p/index.m3u8",     "720p/seg_00003.m4",  "720p/seg_00003.m4s/", "/720p/seg_00003.m4s",
		"720p//seg_00003.m4s", "720P/seg_00003.m4s", "storyboard.jpg",      "720p/seg_00003.m4s\n",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(others); i++)
		CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, others[i], EXPIRES_STR,
		                                     KNOWN_PATH_SIG, NOW, 0),
		                SIGNLINK_BAD);
}

static void test_path_sig_fails_for_another_media_or_expiry(void)
{
	static const int64_t ids[] = { 41, 43, 4, 420, 0, -42 };
	static const char *const expiries[] = { "1700000601", "1700000599", "170000060", "17000006000" };
	size_t i;

	for (i = 0; i < N_ELEMS(ids); i++)
		CU_ASSERT_EQUAL(
		        signlink_verify_path(test_key, ids[i], SEG_PATH, EXPIRES_STR, KNOWN_PATH_SIG, NOW, 0),
		        SIGNLINK_BAD);
	for (i = 0; i < N_ELEMS(expiries); i++)
		CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, expiries[i],
		                                     KNOWN_PATH_SIG, NOW, 0),
		                SIGNLINK_BAD);
}

static void test_path_sig_refuses_any_changed_character(void)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t pos, k, accepted = 0;

	for (pos = 0; pos < SIGNLINK_SIG_LEN; pos++) {
		for (k = 0; k < sizeof(alphabet) - 1; k++) {
			char sig[] = KNOWN_PATH_SIG;

			if (sig[pos] == alphabet[k])
				continue;
			sig[pos] = alphabet[k];
			accepted += signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, EXPIRES_STR, sig, NOW,
			                                 0) != SIGNLINK_BAD;
		}
	}
	CU_ASSERT_EQUAL(accepted, 0);
}

/* The two domains do not mix: a stream link's signature opens no file, a file's no stream. */
static void test_path_and_stream_signatures_do_not_mix(void)
{
	char sig[SIGNLINK_SIG_SIZE];

	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, EXPIRES_STR, KNOWN_SIG, NOW, 0),
	                SIGNLINK_BAD);
	CU_ASSERT_EQUAL(signlink_verify(test_key, MEDIA_ID, EXPIRES_STR, KNOWN_PATH_SIG, NOW, 0),
	                SIGNLINK_BAD);
	/* Not even with the stream message's fields as a path. */
	CU_ASSERT_EQUAL_FATAL(signlink_sign(test_key, MEDIA_ID, EXPIRES, sig, sizeof(sig)), 0);
	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, "", EXPIRES_STR, sig, NOW, 0), SIGNLINK_BAD);
}

static void test_path_sig_expiry_is_checked_after_the_mac(void)
{
	char sig[] = KNOWN_PATH_SIG;

	CU_ASSERT_EQUAL(
	        signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, EXPIRES_STR, KNOWN_PATH_SIG, EXPIRES, 0),
	        SIGNLINK_OK);
	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, EXPIRES_STR, KNOWN_PATH_SIG,
	                                     EXPIRES + 1, 0),
	                SIGNLINK_EXPIRED);
	/* A forged signature past its expiry is forged, not expired: a forger learns nothing. */
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, SEG_PATH, EXPIRES_STR, sig, EXPIRES + 1, 0),
	                SIGNLINK_BAD);
	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, "240p/seg_00003.m4s", EXPIRES_STR,
	                                     KNOWN_PATH_SIG, EXPIRES + 1, 0),
	                SIGNLINK_BAD);
}

static void test_path_sign_refuses_bad_paths_and_short_buffers(void)
{
	char sig[SIGNLINK_SIG_SIZE], longest[SIGNLINK_PATH_MAX + 2];

	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	CU_ASSERT_EQUAL(signlink_sign_path(test_key, MEDIA_ID, EXPIRES, NULL, sig, sizeof(sig)), -1);
	CU_ASSERT_STRING_EQUAL(sig, "");
	CU_ASSERT_EQUAL(signlink_sign_path(test_key, MEDIA_ID, EXPIRES, "", sig, sizeof(sig)), -1);
	CU_ASSERT_EQUAL(signlink_sign_path(test_key, MEDIA_ID, EXPIRES, longest, sig, sizeof(sig)), -1);
	CU_ASSERT_STRING_EQUAL(sig, "");
	CU_ASSERT_EQUAL(
	        signlink_verify_path(test_key, MEDIA_ID, longest, EXPIRES_STR, KNOWN_PATH_SIG, NOW, 0),
	        SIGNLINK_BAD);
	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, NULL, EXPIRES_STR, KNOWN_PATH_SIG, NOW, 0),
	                SIGNLINK_BAD);
	/* The longest path that may be signed is signed. */
	longest[SIGNLINK_PATH_MAX] = '\0';
	CU_ASSERT_EQUAL_FATAL(signlink_sign_path(test_key, MEDIA_ID, INT64_MAX, longest, sig, sizeof(sig)),
	                      0);
	CU_ASSERT_EQUAL(signlink_verify_path(test_key, MEDIA_ID, longest, "9223372036854775807", sig, NOW, 0),
	                SIGNLINK_OK);
	CU_ASSERT_EQUAL(signlink_sign_path(test_key, MEDIA_ID, EXPIRES, SEG_PATH, sig, SIGNLINK_SIG_SIZE - 1),
	                -1);
	CU_ASSERT_STRING_EQUAL(sig, "");
}

static const struct unit_test tests[] = {
	{ "sign matches known answers", test_sign_matches_known_answers },
	{ "path sign matches a known answer", test_path_sign_matches_known_answer },
	{ "a path signature fails for another path", test_path_sig_fails_for_another_path },
	{ "a path signature fails for another media or expiry",
	  test_path_sig_fails_for_another_media_or_expiry },
	{ "a path signature refuses any changed character", test_path_sig_refuses_any_changed_character },
	{ "path and stream signatures do not mix", test_path_and_stream_signatures_do_not_mix },
	{ "a path signature's expiry is checked after its MAC",
	  test_path_sig_expiry_is_checked_after_the_mac },
	{ "path sign refuses bad paths and short buffers",
	  test_path_sign_refuses_bad_paths_and_short_buffers },
	{ "sign refuses a short buffer", test_sign_refuses_a_short_buffer },
	{ "verify roundtrip", test_verify_roundtrip },
	{ "verify refuses another media id", test_verify_refuses_another_media_id },
	{ "verify refuses another key", test_verify_refuses_another_key },
	{ "verify refuses tampered expires", test_verify_refuses_tampered_expires },
	{ "verify refuses malformed expires", test_verify_refuses_malformed_expires },
	{ "verify refuses any changed sig char", test_verify_refuses_any_changed_signature_character },
	{ "verify refuses malformed sigs", test_verify_refuses_malformed_signatures },
	{ "verify expiry and leeway", test_verify_expiry_and_leeway },
	{ "forged expired link is bad", test_verify_forged_expired_link_is_bad_not_expired },
	{ "extreme expires values", test_verify_extreme_expires_values },
	{ "derive key from JWT secret", test_derive_key_from_jwt_secret },
	{ "key from setting", test_key_from_setting },
	{ "key functions refuse empty", test_key_functions_refuse_empty_secrets },
};

UNIT_SUITES(UNIT_SUITE("signlink", suite_init, NULL, tests));
