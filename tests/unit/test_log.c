/* test_log.c: unit tests of core/log.c: every line is one line, and a --once run's one line on
 * standard error (log_once_begin, log_once_fail, log_once_end). */
#include "config.h"

#include "core/log.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static char text[8192];

/* What f holds, from its start, into text. */
static const char *slurp(FILE *f)
{
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	return text;
}

/* The lines written while fn ran, from the log (log_set_stream) and from fd 2 (stderr). */
struct capture {
	FILE *log, *err;
	FILE *log_was;
	int saved_fd2;
};

static void capture_begin(struct capture *c)
{
	c->log = tmpfile();
	c->err = tmpfile();
	CU_ASSERT_FATAL(c->log != NULL && c->err != NULL);
	fflush(stderr);
	c->saved_fd2 = dup(2);
	CU_ASSERT_FATAL(c->saved_fd2 >= 0);
	CU_ASSERT_FATAL(dup2(fileno(c->err), 2) == 2);
	c->log_was = log_set_stream(c->log);
}

/* Puts stderr back; the two files stay open for reading until capture_end. */
static void capture_stop(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved_fd2, 2);
	close(c->saved_fd2);
	(void)log_set_stream(c->log_was);
}

static void capture_end(struct capture *c)
{
	fclose(c->log);
	fclose(c->err);
}

/* True when s is exactly one line: text, then one '\n' at its end. */
static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return s[0] != '\0' && s[0] != '\n' && nl != NULL && nl[1] == '\0';
}

static void test_once_mode_is_off_until_begun(void)
{
	CU_ASSERT_FALSE(log_once_active());
	/* Outside a --once run log_once_end changes nothing and prints nothing. */
	CU_ASSERT_EQUAL(log_once_end(3), 3);
}

static void test_a_message_with_newlines_and_tabs_is_one_line(void)
{
	struct capture c;
	const char *s;

	capture_begin(&c);
	/* libpq's message: two lines, the second indented with a tab, and a final newline. */
	log_error("db: connect: connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
	          "\tIs the server running on that host and accepting TCP/IP connections?\n");
	log_info("a\r\nb \t c\x7f"
	         "d");
	capture_stop(&c);
	s = slurp(c.log);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "failed: Connection refused Is the server running on that host and "
	                                 "accepting TCP/IP connections?\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, " a b c d\n"));
	/* Two calls, two lines. */
	CU_ASSERT_PTR_NOT_NULL(strchr(s, '\n'));
	CU_ASSERT_PTR_NOT_NULL(strchr(strchr(s, '\n') + 1, '\n'));
	CU_ASSERT_PTR_NULL(strchr(strchr(strchr(s, '\n') + 1, '\n') + 1, '\n'));
	CU_ASSERT_PTR_NULL(strchr(s, '\t'));
	CU_ASSERT_PTR_NULL(strchr(s, '\r'));
	CU_ASSERT_STRING_EQUAL(slurp(c.err), "");
	capture_end(&c);
}

static void test_spaces_inside_a_message_stay(void)
{
	struct capture c;

	capture_begin(&c);
	log_warn("x  y");
	capture_stop(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(slurp(c.log), " warning x  y\n"));
	capture_end(&c);
}

static void test_a_failed_once_run_prints_its_first_error_in_one_line(void)
{
	struct capture c;

	capture_begin(&c);
	log_once_begin();
	CU_ASSERT_TRUE(log_once_active());
	(void)log_set_stream(c.log); /* log_once_begin sends the log to stdout */
	log_error("db: connect: refused\n\tIs the server running?\n");
	log_info("not an error");
	log_error("claim: unavailable");
	CU_ASSERT_EQUAL(log_once_end(1), 1);
	capture_stop(&c);
	CU_ASSERT_STRING_EQUAL(slurp(c.err),
	                       "test_log: db: connect: refused Is the server running? (and 1 more "
	                       "error line(s) in the log)\n");
	CU_ASSERT_TRUE(one_line(text));
	capture_end(&c);
}

static void test_log_once_fail_names_the_cause(void)
{
	struct capture c;

	capture_begin(&c);
	log_once_begin();
	(void)log_set_stream(c.log);
	log_error("an error the run survives");
	log_error("job 1: the output could not be recorded (conflict)");
	log_once_fail();
	log_error("a later error");
	log_once_fail(); /* the first one named wins */
	CU_ASSERT_EQUAL(log_once_end(1), 1);
	capture_stop(&c);
	CU_ASSERT_STRING_EQUAL(slurp(c.err),
	                       "test_log: job 1: the output could not be recorded (conflict) (and 2 "
	                       "more error line(s) in the log)\n");
	capture_end(&c);
}

static void test_a_failed_once_run_without_an_error_line_says_its_status(void)
{
	struct capture c;

	capture_begin(&c);
	log_once_begin();
	(void)log_set_stream(c.log);
	CU_ASSERT_EQUAL(log_once_end(2), 2);
	capture_stop(&c);
	CU_ASSERT_STRING_EQUAL(slurp(c.err), "test_log: failed with exit status 2\n");
	capture_end(&c);
}

static void test_a_clean_once_run_prints_nothing_on_stderr(void)
{
	struct capture c;

	capture_begin(&c);
	log_once_begin();
	(void)log_set_stream(c.log);
	log_error("an error the run survives");
	CU_ASSERT_EQUAL(log_once_end(0), 0);
	capture_stop(&c);
	CU_ASSERT_STRING_EQUAL(slurp(c.err), "");
	capture_end(&c);
}

/* Longer than LOG_ONCE_ERR_MAX: cut, still one line. */
static void test_a_long_error_is_cut_to_one_line(void)
{
	static char big[2000];
	struct capture c;

	memset(big, 'x', sizeof(big) - 1);
	big[700] = '\n';
	capture_begin(&c);
	log_once_begin();
	(void)log_set_stream(c.log);
	log_error("%s", big);
	CU_ASSERT_EQUAL(log_once_end(1), 1);
	capture_stop(&c);
	CU_ASSERT_TRUE(one_line(slurp(c.err)));
	CU_ASSERT_TRUE(strlen(text) < LOG_ONCE_ERR_MAX + 64);
	CU_ASSERT_TRUE(one_line(strstr(slurp(c.log), " error ")));
	capture_end(&c);
}

static int suite_init(void)
{
	log_init("test_log");
	return 0;
}

static const struct unit_test tests[] = {
	{ "once mode is off until begun", test_once_mode_is_off_until_begun },
	{ "a message with newlines and tabs is one line", test_a_message_with_newlines_and_tabs_is_one_line },
	{ "spaces inside a message stay", test_spaces_inside_a_message_stay },
	{ "a failed once run prints its first error in one line",
	  test_a_failed_once_run_prints_its_first_error_in_one_line },
	{ "log_once_fail names the cause", test_log_once_fail_names_the_cause },
	{ "a failed once run without an error line says its status",
	  test_a_failed_once_run_without_an_error_line_says_its_status },
	{ "a clean once run prints nothing on stderr", test_a_clean_once_run_prints_nothing_on_stderr },
	{ "a long error is cut to one line", test_a_long_error_is_cut_to_one_line },
};

UNIT_SUITES(UNIT_SUITE("log", suite_init, NULL, tests));
