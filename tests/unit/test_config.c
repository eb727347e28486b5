/* test_config.c: unit tests of the settings file, environment overrides and checks (core/config.c). */
#include "config.h"

#include "core/config.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define SECRET32 "0123456789abcdef0123456789abcdef"

/* Every environment name a test sets, cleared before and after each test that uses them. */
static const char *const env_names[] = { "MAX_JSON_DEPTH", "JWT_SECRET",   "DATABASE_URL", "TOKEN_TTL",
	                                 "STREAM_MODE",    "CORS_ORIGINS", "CORS_ORIGIN" };

/* Whether the line of text starting with prefix contains want. */
static bool line_has(const char *text, const char *prefix, const char *want)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return memmem(p, n, want, strlen(want)) != NULL;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

static void env_clear(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(env_names); i++)
		unsetenv(env_names[i]);
}

static void test_defaults_fill_every_field(void)
{
	struct config c;

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_PTR_NULL(c.database_url);
	CU_ASSERT_PTR_NULL(c.redis_url);
	CU_ASSERT_PTR_NULL(c.jwt_secret);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "*");
	CU_ASSERT_STRING_EQUAL(c.public_base_url, "");
	CU_ASSERT_STRING_EQUAL(c.ffmpeg_path, "ffmpeg");
	CU_ASSERT_STRING_EQUAL(c.ffprobe_path, "ffprobe");
	CU_ASSERT_PTR_NOT_NULL(c.media_root);
	CU_ASSERT_EQUAL(c.max_json_bytes, 65536);
	CU_ASSERT_EQUAL(c.max_json_depth, 16);
	CU_ASSERT_EQUAL(c.token_ttl, 3600);
	CU_ASSERT_EQUAL(c.upload_max_bytes, 2147483648LL);
	CU_ASSERT_EQUAL(c.render_concurrency, 0);
	CU_ASSERT_EQUAL(c.stream_mode, STREAM_XSENDFILE);
	config_free(&c);
	CU_ASSERT_PTR_NULL(c.cors_origins);
}

static void test_parse_skips_comments_and_blank_lines(void)
{
	static const char text[] = "# a comment\n"
	                           "\n"
	                           "   \t\n"
	                           "  # an indented comment\n"
	                           "max_json_depth = 8\r\n"
	                           "cors_origin=https://app.example.com\n"
	                           "\ttoken_ttl\t=\t120\t\n"
	                           "stream_mode = direct\n"
	                           "ffmpeg_path = /usr/bin/ffmpeg";
	struct config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_parse(&c, text, "test.conf", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(c.max_json_depth, 8);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "https://app.example.com");
	CU_ASSERT_EQUAL(c.token_ttl, 120);
	CU_ASSERT_EQUAL(c.stream_mode, STREAM_DIRECT);
	/* the last line needs no newline */
	CU_ASSERT_STRING_EQUAL(c.ffmpeg_path, "/usr/bin/ffmpeg");
	/* untouched keys keep their defaults */
	CU_ASSERT_EQUAL(c.max_json_bytes, 65536);
	config_free(&c);
}

static void test_parse_keeps_quoted_values(void)
{
	static const char text[] = "jwt_secret = \"  spaced secret  \"\n"
	                           "cors_origin = \"#not-a-comment\"\n"
	                           "public_base_url = \"\"\n"
	                           "ffmpeg_path = \"\n"
	                           "database_url = postgres://u:p#w@h/db\n";
	struct config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_parse(&c, text, "test.conf", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.jwt_secret, "  spaced secret  ");
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "#not-a-comment");
	CU_ASSERT_STRING_EQUAL(c.public_base_url, "");
	/* a lone quote is not a quoted value */
	CU_ASSERT_STRING_EQUAL(c.ffmpeg_path, "\"");
	/* '#' inside an unquoted value is part of it: secrets may hold one */
	CU_ASSERT_STRING_EQUAL(c.database_url, "postgres://u:p#w@h/db");
	config_free(&c);
}

static void test_parse_later_lines_override_earlier(void)
{
	struct config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_parse(&c, "cors_origin = a\ncors_origin = b\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "b");
	config_free(&c);
}

struct parse_error_case {
	const char *text;
	const char *want[3]; /* substrings the message must hold */
};

static void test_parse_errors_name_key_and_line(void)
{
	static const struct parse_error_case cases[] = {
		{ "max_json_depth = 8\n\nbogus_key = 1\n",
		  { "test.conf:3", "unknown setting", "bogus_key" } },
		{ "Max_Json_Depth = 8\n", { "test.conf:1", "unknown setting", "Max_Json_Depth" } },
		{ "token_ttl = 12abc\n", { "test.conf:1", "token_ttl", "12abc" } },
		{ "# c\ntoken_ttl = \n", { "test.conf:2", "token_ttl", "integer" } },
		{ "max_json_depth = 1\n", { "test.conf:1", "max_json_depth", "from 2 to 64" } },
		{ "max_json_depth = 65\n", { "test.conf:1", "max_json_depth", "from 2 to 64" } },
		{ "upload_max_bytes = 99999999999999999999999\n",
		  { "test.conf:1", "upload_max_bytes", "integer" } },
		{ "stream_mode = sendfile\n", { "test.conf:1", "stream_mode", "x-sendfile or direct" } },
		{ "webhook_allow_private = maybe\n",
		  { "test.conf:1", "webhook_allow_private", "on or off" } },
		{ "cors_origin\n", { "test.conf:1", "key = value", NULL } },
	};
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct config c;
		char err[256] = "";

		CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
		CU_ASSERT_EQUAL(config_parse(&c, cases[i].text, "test.conf", err, sizeof(err)), -1);
		for (j = 0; j < ARRAY_LEN(cases[i].want) && cases[i].want[j] != NULL; j++) {
			if (strstr(err, cases[i].want[j]) == NULL)
				fprintf(stderr, "\n  case %zu: \"%s\" lacks \"%s\"\n", i, err,
				        cases[i].want[j]);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].want[j]));
		}
		config_free(&c);
	}
}

static void test_env_overrides_file(void)
{
	struct config c;
	char err[256] = "";

	env_clear();
	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(
	        config_parse(&c, "max_json_depth = 8\njwt_secret = from-file\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(setenv("MAX_JSON_DEPTH", "32", 1), 0);
	CU_ASSERT_EQUAL(setenv("JWT_SECRET", SECRET32, 1), 0);
	CU_ASSERT_EQUAL(setenv("STREAM_MODE", "direct", 1), 0);
	CU_ASSERT_EQUAL(config_apply_env(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.max_json_depth, 32);
	CU_ASSERT_STRING_EQUAL(c.jwt_secret, SECRET32);
	CU_ASSERT_EQUAL(c.stream_mode, STREAM_DIRECT);
	/* a key without an environment variable keeps its value */
	CU_ASSERT_EQUAL(c.token_ttl, 3600);
	env_clear();
	config_free(&c);
}

static void test_cors_origin_is_a_deprecated_name_of_cors_origins(void)
{
	struct config c;
	char err[256] = "", *printed = NULL;
	size_t printed_len = 0;
	FILE *out;

	env_clear();
	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	/* In the file, the later line wins, whichever name it uses. */
	CU_ASSERT_EQUAL(config_parse(&c, "cors_origin = https://old.example\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "https://old.example");
	CU_ASSERT_EQUAL(config_parse(&c,
	                             "cors_origin = https://a.example\ncors_origins = https://b.example\n",
	                             "t", err, sizeof(err)),
	                0);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "https://b.example");
	/* In the environment, both names override the file, and CORS_ORIGINS wins over CORS_ORIGIN. */
	CU_ASSERT_EQUAL(setenv("CORS_ORIGIN", "https://env-old.example", 1), 0);
	CU_ASSERT_EQUAL(config_apply_env(&c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "https://env-old.example");
	CU_ASSERT_EQUAL(setenv("CORS_ORIGINS", "https://env-new.example", 1), 0);
	CU_ASSERT_EQUAL(config_apply_env(&c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.cors_origins, "https://env-new.example");
	env_clear();
	/* mediactl config shows the setting once, under its new name. */
	out = open_memstream(&printed, &printed_len);
	CU_ASSERT_FATAL(out != NULL);
	config_print(&c, out);
	fclose(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(printed, "\ncors_origins "));
	CU_ASSERT_PTR_NULL(strstr(printed, "\ncors_origin "));
	free(printed);
	/* Freed once: the alias shares the field. */
	config_free(&c);
	CU_ASSERT_PTR_NULL(c.cors_origins);
}

/* mediactl config tells where each value came from: the file's line, the environment, or the default. */
static void test_print_names_each_value_source(void)
{
	struct config c;
	char err[256] = "", *text = NULL;
	size_t len = 0;
	FILE *out;

	env_clear();
	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_parse(&c, "# x\nmax_json_depth = 8\ntoken_ttl = 120\n", "/etc/m.conf", err,
	                             sizeof(err)),
	                0);
	CU_ASSERT_EQUAL(setenv("TOKEN_TTL", "600", 1), 0);
	CU_ASSERT_EQUAL(config_apply_env(&c, err, sizeof(err)), 0);
	out = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	config_print(&c, out);
	fclose(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "max_json_depth           = 8"));
	CU_ASSERT(line_has(text, "max_json_depth ", "# from /etc/m.conf:2;"));
	CU_ASSERT(line_has(text, "token_ttl ", "# from env TOKEN_TTL;"));
	CU_ASSERT(line_has(text, "stream_ttl ", "# from default;"));
	free(text);
	env_clear();
	config_free(&c);
}

static void test_env_error_names_variable(void)
{
	struct config c;
	char err[256] = "";

	env_clear();
	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(setenv("TOKEN_TTL", "soon", 1), 0);
	CU_ASSERT_EQUAL(config_apply_env(&c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "TOKEN_TTL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "token_ttl"));
	CU_ASSERT_EQUAL(c.token_ttl, 3600);
	env_clear();
	config_free(&c);
}

static void test_check_requires_what_is_needed(void)
{
	struct config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	/* nothing needed, nothing checked */
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), 0);
	/* missing database_url */
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_DB, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "database_url"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "DATABASE_URL"));
	/* an empty one is missing too */
	CU_ASSERT_EQUAL(config_parse(&c, "database_url =\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_DB, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(config_parse(&c, "database_url = postgres:///media\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_DB, err, sizeof(err)), 0);
	/* no redis_url, or an empty one: accepted (mediad runs without Redis) */
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_DB, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_parse(&c, "redis_url =\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), 0);
	/* a malformed one is refused by every program, mediactl config too */
	CU_ASSERT_EQUAL(config_parse(&c, "redis_url = redis://a@b@host\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis_url"));
	CU_ASSERT_EQUAL(config_parse(&c, "redis_url = unix:/run/redis.sock\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), 0);
	/* media_root must be absolute */
	CU_ASSERT_EQUAL(config_parse(&c, "media_root = media\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_MEDIA, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "media_root"));
	config_free(&c);
}

static void test_check_refuses_short_jwt_secret(void)
{
	struct config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_JWT, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "jwt_secret is not set"));
	/* 31 bytes */
	CU_ASSERT_EQUAL(
	        config_parse(&c, "jwt_secret = 0123456789abcdef0123456789abcde\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_JWT, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "jwt_secret"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "32 bytes"));
	/* 32 bytes */
	CU_ASSERT_EQUAL(config_parse(&c, "jwt_secret = " SECRET32 "\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_JWT, err, sizeof(err)), 0);
	/* a stream_key, when given, is held to the same length */
	CU_ASSERT_EQUAL(config_parse(&c, "stream_key = short\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, CONFIG_NEED_JWT, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "stream_key"));
	config_free(&c);
}

static void test_auto_renditions_are_listed_or_refused(void)
{
	char names[CONFIG_RENDITIONS_MAX][CONFIG_RENDITION_NAME];
	struct config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_auto_renditions(&c, names, err, sizeof(err)), 2);
	CU_ASSERT_STRING_EQUAL(names[0], "hls");
	CU_ASSERT_STRING_EQUAL(names[1], "poster");
	CU_ASSERT_EQUAL(
	        config_parse(&c, "auto_renditions = storyboard , hls,storyboard\n", "t", err, sizeof(err)),
	        0);
	CU_ASSERT_EQUAL(config_auto_renditions(&c, names, err, sizeof(err)), 2);
	CU_ASSERT_STRING_EQUAL(names[0], "storyboard");
	CU_ASSERT_EQUAL(config_parse(&c, "auto_renditions =\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_auto_renditions(&c, names, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), 0);
	/* A typo stops start-up with a message that names it. */
	CU_ASSERT_EQUAL(config_parse(&c, "auto_renditions = hls,postre\n", "t", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"postre\""));
	config_free(&c);
}

struct mask_case {
	const char *in;
	const char *want;
};

static void test_mask_url_hides_passwords(void)
{
	static const struct mask_case cases[] = {
		/* URL form */
		{ "postgres://media:s3cret@db.example.com:5432/media",
		  "postgres://media:***@db.example.com:5432/media" },
		{ "postgresql://u:p@localhost/db?sslmode=require",
		  "postgresql://u:***@localhost/db?sslmode=require" },
		{ "redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0" },
		{ "postgres://media@db/media", "postgres://media@db/media" },
		{ "postgres://db:5432/media", "postgres://db:5432/media" },
		{ "postgresql:///media?password=s3cret&sslmode=disable",
		  "postgresql:///media?password=***&sslmode=disable" },
		/* conninfo form */
		{ "host=db user=media password=s3cret dbname=media",
		  "host=db user=media password=*** dbname=media" },
		{ "password=s3cret", "password=***" },
		{ "host=db password = s3cret dbname=media", "host=db password = *** dbname=media" },
		{ "host=db password='s3 cret' dbname=media", "host=db password=*** dbname=media" },
		{ "host=db password='it\\'s' port=5", "host=db password=*** port=5" },
		{ "host=db sslpassword=k1 password=k2", "host=db sslpassword=*** password=***" },
		{ "host=db dbname=media", "host=db dbname=media" },
		/* not a URL at all */
		{ "unix:/run/redis/redis.sock", "unix:/run/redis/redis.sock" },
		{ "", "" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		char out[256];

		memset(out, 'x', sizeof(out));
		config_mask_url(cases[i].in, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "\n  case %zu: \"%s\" -> \"%s\"\n", i, cases[i].in, out);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

/* A boolean setting: off by default; on/off, true/false, yes/no, 1/0 in any case; printed on/off. */
static void test_booleans_take_the_usual_words(void)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
		{ "webhook_allow_private = on\n", true },     { "webhook_allow_private = OFF\n", false },
		{ "webhook_allow_private = true\n", true },   { "webhook_allow_private = False\n", false },
		{ "webhook_allow_private = yes\n", true },    { "webhook_allow_private = no\n", false },
		{ "webhook_allow_private = 1\n", true },      { "webhook_allow_private = 0\n", false },
		{ "webhook_allow_private = \"on\"\n", true },
	};
	char err[256], out[32768];
	struct config c;
	size_t i;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_FALSE(c.webhook_allow_private);
	CU_ASSERT_EQUAL(c.webhook_timeout, 10);
	CU_ASSERT_EQUAL(c.webhook_concurrency, 8);
	config_free(&c);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
		CU_ASSERT_EQUAL(config_parse(&c, cases[i].text, "test.conf", err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(c.webhook_allow_private, cases[i].want);
		config_free(&c);
	}
	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	CU_ASSERT_EQUAL(config_parse(&c, "webhook_allow_private = on\n", "test.conf", err, sizeof(err)), 0);
	f = fmemopen(out, sizeof(out), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	config_print(&c, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "webhook_allow_private    = on "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "from test.conf:1"));
	config_free(&c);
}

static void test_check_base_path(void)
{
	static const struct {
		const char *value;
		int want;
	} cases[] = {
		{ "/~user/api", 0 }, { "/api/", 0 },         { "/a/b.c/d", 0 }, { "/", 0 },
		{ "api", -1 },       { "/a b", -1 },         { "/a?x", -1 },    { "/a#x", -1 },
		{ "/a%2e", -1 },     { "/a/../b", -1 },      { "/a/..", -1 },   { "/./a", -1 },
		{ "/a\"b", -1 },     { "/caf\xc3\xa9", -1 },
	};
	char err[256], text[512], longer[CONFIG_BASE_PATH_MAX + 8];
	struct config c;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
		snprintf(text, sizeof(text), "base_path = %s\n", cases[i].value);
		CU_ASSERT_EQUAL_FATAL(config_parse(&c, text, "test.conf", err, sizeof(err)), 0);
		err[0] = '\0';
		CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), cases[i].want);
		if (cases[i].want != 0)
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "base_path"));
		config_free(&c);
	}
	memset(longer, 'a', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = '\0';
	CU_ASSERT_EQUAL_FATAL(config_defaults(&c), 0);
	snprintf(text, sizeof(text), "base_path = %s\n", longer);
	CU_ASSERT_EQUAL_FATAL(config_parse(&c, text, "test.conf", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_check(&c, 0, err, sizeof(err)), -1);
	config_free(&c);
}

static void test_mask_url_truncates_safely(void)
{
	char out[12];

	memset(out, 'x', sizeof(out));
	config_mask_url("postgres://user:secret@host/db", out, sizeof(out));
	CU_ASSERT_EQUAL(strlen(out), sizeof(out) - 1);
	CU_ASSERT_PTR_NULL(strstr(out, "secret"));
	memset(out, 'x', sizeof(out));
	config_mask_url("password=secretsecret", out, sizeof(out));
	CU_ASSERT_EQUAL(strlen(out), sizeof(out) - 1);
	CU_ASSERT_PTR_NULL(strstr(out, "sec"));
}

static const struct unit_test tests[] = {
	{ "auto_renditions are listed or refused", test_auto_renditions_are_listed_or_refused },
	{ "defaults fill every field", test_defaults_fill_every_field },
	{ "parse skips comments and blank lines", test_parse_skips_comments_and_blank_lines },
	{ "parse keeps quoted values", test_parse_keeps_quoted_values },
	{ "parse: later lines override earlier ones", test_parse_later_lines_override_earlier },
	{ "parse errors name the key and the line", test_parse_errors_name_key_and_line },
	{ "environment overrides the file", test_env_overrides_file },
	{ "environment error names the variable", test_env_error_names_variable },
	{ "print names each value's source", test_print_names_each_value_source },
	{ "cors_origin is a deprecated name of cors_origins",
	  test_cors_origin_is_a_deprecated_name_of_cors_origins },
	{ "check requires what is needed", test_check_requires_what_is_needed },
	{ "check refuses a short jwt_secret", test_check_refuses_short_jwt_secret },
	{ "mask_url hides passwords", test_mask_url_hides_passwords },
	{ "mask_url truncates safely", test_mask_url_truncates_safely },
	{ "booleans take the usual words", test_booleans_take_the_usual_words },
	{ "check refuses a base_path that is no plain path", test_check_base_path },
};

UNIT_SUITES(UNIT_SUITE("config", NULL, NULL, tests));
