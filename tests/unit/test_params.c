/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the ACCEL_* parameter table (src/config/params.c): defaults,
 * parsing of every type, the warnings for bad values and unknown names,
 * loading from an environment, origins, the start-up report and --params.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/params.h"

/* Warnings are captured through a log file in a private directory. */
struct fixture {
	char dir[64];
	char log[128];
	char text[65536];
	struct accel_params p;
	struct accel_params before;
};

static void log_to_file(struct fixture *f, int level)
{
	struct log_settings s = { .level = level, .file = f->log, .details = 0, .colors = 1 };
	log_configure(&s);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/accel-params-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	log_to_file(f, ACCEL_LOG_WARN);
	params_defaults(&f->p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct log_settings s = { .level = ACCEL_LOG_WARN, .file = "", .details = 0, .colors = 0 };
	log_configure(&s); /* closes the log file */
	unlink(f->log);
	rmdir(f->dir);
	unsetenv("ACCEL_LOG_FILE");
	unsetenv("ACCEL_CONFIG_FILE");
	free(f);
	return 0;
}

/* Everything logged since the last clear_log(). */
static const char *log_text(struct fixture *f)
{
	f->text[0] = '\0';
	int fd = open(f->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return f->text;
	size_t used = 0;
	ssize_t n;
	while (used + 1 < sizeof(f->text) &&
	       (n = read(fd, f->text + used, sizeof(f->text) - 1 - used)) > 0)
		used += (size_t)n;
	f->text[used] = '\0';
	close(fd);
	return f->text;
}

static void clear_log(struct fixture *f)
{
	/* The logger appends, so its next line lands at offset 0. */
	int fd = open(f->log, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_unchanged(struct fixture *f)
{
	assert_memory_equal(&f->p, &f->before, sizeof(f->p));
}

/* ---- defaults and the table itself ---- */

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	memset(&f->p, 0xa5, sizeof(f->p));
	params_defaults(&f->p);

	assert_int_equal(f->p.tracelevel, ACCEL_LOG_WARN);
	assert_string_equal(f->p.log_file, "");
	assert_int_equal(f->p.log_details, 0);
	assert_int_equal(f->p.log_colors, 1);
	assert_int_equal(f->p.trace_calls, 0);
	assert_int_equal(f->p.offloaded_sockets, 1);
	assert_string_equal(f->p.config_file, ACCEL_DEFAULT_CONFIG_FILE);
	assert_string_equal(f->p.application_id, "");
	assert_string_equal(f->p.spec, "");
	for (int i = 0; i < PARAM_COUNT; i++) {
		assert_int_equal(f->p.origin[i], ORIGIN_DEFAULT);
		assert_true(params_is_default(&f->p, (enum param_id)i));
	}
}

static void test_table_is_consistent(void **state)
{
	(void)state;
	for (int i = 0; i < PARAM_COUNT; i++) {
		const struct param_desc *d = &param_table[i];
		assert_non_null(d->env);
		assert_int_equal(strncmp(d->env, PARAM_PREFIX, strlen(PARAM_PREFIX)), 0);
		assert_ptr_equal(params_find(d->env), d);
		assert_non_null(d->doc);
		assert_true(strlen(d->doc) > 10);
		switch (d->type) {
		case PARAM_BOOL:
			assert_true(d->def == 0 || d->def == 1);
			break;
		case PARAM_INT:
			assert_true(d->min <= d->def && d->def <= d->max);
			break;
		case PARAM_ENUM: {
			assert_non_null(d->names);
			int found = 0;
			for (const struct param_name *n = d->names; n->name; n++)
				found |= n->value == d->def;
			assert_true(found);
			break;
		}
		case PARAM_STRING:
		case PARAM_PATH:
			assert_non_null(d->sdef);
			assert_true(strlen(d->sdef) < PARAM_STR_MAX);
			break;
		}
		/* Two rows with one name would make the second unreachable. */
		for (int j = 0; j < i; j++)
			assert_string_not_equal(param_table[j].env, d->env);
	}
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(params_find("ACCEL_TRACELEVEL"), &param_table[PARAM_ID_tracelevel]);
	assert_ptr_equal(params_find("ACCEL_SPEC"), &param_table[PARAM_ID_spec]);
	/* Environment names are case-sensitive. */
	assert_null(params_find("accel_tracelevel"));
	assert_null(params_find("ACCEL_"));
	assert_null(params_find(""));
	assert_null(params_find("ACCEL_TRACELEVEL "));
}

/* ---- BOOL ---- */

static void test_bool_every_spelling(void **state)
{
	struct fixture *f = *state;
	static const char *const yes[] = { "1",   "yes", "on",	 "true",    "y",   "enable",
					   "enabled", "YES", "On", "TRUE", "Y", "Enabled" };
	static const char *const no[] = { "0",	"no", "off", "false", "n",   "disable",
					  "disabled", "NO", "OFF", "False", "N", "DISABLE" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		f->p.trace_calls = 0;
		assert_int_equal(params_set(&f->p, "ACCEL_TRACE_CALLS", yes[i], ORIGIN_ENV, "test"), 0);
		assert_int_equal(f->p.trace_calls, 1);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		f->p.offloaded_sockets = 1;
		assert_int_equal(params_set(&f->p, "ACCEL_OFFLOADED_SOCKETS", no[i], ORIGIN_ENV, "test"),
				 0);
		assert_int_equal(f->p.offloaded_sockets, 0);
	}
	assert_string_equal(log_text(f), "");
}

static void test_bool_rejects(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "",	 "2",	  "-1",	 "10",	"0x1", "yess",
					   "t", "maybe", " ", "1 1", "1.0", "o" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->p.log_colors = 1;
		f->before = f->p;
		assert_int_equal(params_set(&f->p, "ACCEL_LOG_COLORS", bad[i], ORIGIN_ENV, "test"),
				 -EINVAL);
		assert_unchanged(f);
	}
	assert_int_equal(count_lines(log_text(f)), sizeof(bad) / sizeof(bad[0]));
}

/* ---- INT ---- */

static void test_int_bounds(void **state)
{
	struct fixture *f = *state;
	const struct param_desc *d = params_find("ACCEL_LOG_DETAILS");
	char buf[64];

	for (long v = d->min; v <= d->max; v++) {
		snprintf(buf, sizeof(buf), "%ld", v);
		assert_int_equal(params_set(&f->p, d->env, buf, ORIGIN_ENV, "test"), 0);
		assert_int_equal(f->p.log_details, v);
	}
	f->p.log_details = 1;
	f->before = f->p;
	snprintf(buf, sizeof(buf), "%ld", d->min - 1);
	assert_int_equal(params_set(&f->p, d->env, buf, ORIGIN_ENV, "test"), -EINVAL);
	assert_unchanged(f);
	snprintf(buf, sizeof(buf), "%ld", d->max + 1);
	assert_int_equal(params_set(&f->p, d->env, buf, ORIGIN_ENV, "test"), -EINVAL);
	assert_unchanged(f);
}

static void test_int_accepted_forms(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		long value;
	} good[] = {
		{ "+2", 2 },   { "0x3", 3 },	 { "0X2", 2 }, { "  2", 2 },
		{ "3  ", 3 },  { "\t1\n", 1 },	 { "-0", 0 },  { "00", 0 },
		{ "0x0", 0 },  { " +1 ", 1 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f->p.log_details = 99;
		assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", good[i].text, ORIGIN_ENV, "t"),
				 0);
		assert_int_equal(f->p.log_details, good[i].value);
	}
	assert_string_equal(log_text(f), "");
}

static void test_int_rejects(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"   ",
		"abc",
		"2abc",
		"2.0",
		"1e0",
		"0x",
		"0x4",
		"2 3",
		"- 1",
		"--1",
		"one",
		"9223372036854775807",	  /* LONG_MAX: parses, out of range */
		"9223372036854775808",	  /* overflows long */
		"-9223372036854775809",	  /* underflows long */
		"99999999999999999999999999",
		"0xffffffffffffffffffffff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->p.log_details = 2;
		f->before = f->p;
		clear_log(f);
		assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", bad[i], ORIGIN_ENV, "test"),
				 -EINVAL);
		assert_unchanged(f);
		const char *text = log_text(f);
		assert_non_null(strstr(text, "ACCEL_LOG_DETAILS"));
		assert_non_null(strstr(text, "keeping 2"));
	}
}

/* ---- ENUM ---- */

static void test_enum_names_and_numbers(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		long value;
	} good[] = {
		{ "panic", ACCEL_LOG_PANIC },	{ "0", ACCEL_LOG_PANIC },
		{ "error", ACCEL_LOG_ERROR },	{ "1", ACCEL_LOG_ERROR },
		{ "warn", ACCEL_LOG_WARN },	{ "warning", ACCEL_LOG_WARN },
		{ "2", ACCEL_LOG_WARN },	{ "info", ACCEL_LOG_INFO },
		{ "information", ACCEL_LOG_INFO }, { "3", ACCEL_LOG_INFO },
		{ "details", ACCEL_LOG_DETAILS }, { "debug", ACCEL_LOG_DEBUG },
		{ "4", ACCEL_LOG_DEBUG },	{ "fine", ACCEL_LOG_FINE },
		{ "func", ACCEL_LOG_FINE },	{ "5", ACCEL_LOG_FINE },
		{ "finer", ACCEL_LOG_FINER },	{ "func_all", ACCEL_LOG_FINER },
		{ "6", ACCEL_LOG_FINER },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f->p.tracelevel = -1;
		assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", good[i].text, ORIGIN_ENV, "t"),
				 0);
		assert_int_equal(f->p.tracelevel, good[i].value);
	}
	assert_string_equal(log_text(f), "");
}

static void test_enum_case_insensitive(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		long value;
	} good[] = {
		{ "DEBUG", ACCEL_LOG_DEBUG }, { "Warn", ACCEL_LOG_WARN },  { "FiNeR", ACCEL_LOG_FINER },
		{ "INFO", ACCEL_LOG_INFO },   { "Panic", ACCEL_LOG_PANIC }, { "FUNC_ALL", ACCEL_LOG_FINER },
		{ "Details", ACCEL_LOG_DETAILS },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f->p.tracelevel = -1;
		assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", good[i].text, ORIGIN_ENV, "t"),
				 0);
		assert_int_equal(f->p.tracelevel, good[i].value);
	}
}

static void test_enum_rejects(void **state)
{
	struct fixture *f = *state;
	/* "40" is the internal value of debug: only the user numbers 0..6 are accepted. */
	static const char *const bad[] = { "",	   "7",	   "-1",      "40",	 "04",	"0x4",
					   "deb", "debugx", "verbose", "in fo", " ", "2.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->p.tracelevel = ACCEL_LOG_INFO;
		f->before = f->p;
		assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", bad[i], ORIGIN_ENV, "test"),
				 -EINVAL);
		assert_unchanged(f);
	}
}

/* ---- the warning for a bad value ---- */

static void test_bad_value_warning_int(void **state)
{
	struct fixture *f = *state;
	f->before = f->p;
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "7", ORIGIN_PROFILE,
				    "profile latency.yaml:3"),
			 -EINVAL);
	assert_unchanged(f);
	const char *text = log_text(f);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "WARN"));
	assert_non_null(strstr(text, "ACCEL_LOG_DETAILS"));
	assert_non_null(strstr(text, "'7'"));
	assert_non_null(strstr(text, "profile latency.yaml:3"));
	assert_non_null(strstr(text, "from 0 to 3"));
	assert_non_null(strstr(text, "keeping 0"));
}

static void test_bad_value_warning_enum(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "loud", ORIGIN_ENV, "environment"),
			 -EINVAL);
	const char *text = log_text(f);
	assert_non_null(strstr(text, "ACCEL_TRACELEVEL"));
	assert_non_null(strstr(text, "'loud'"));
	assert_non_null(strstr(text, "environment"));
	/* Every accepted name is listed. */
	for (const struct param_name *n = param_names_level; n->name; n++)
		assert_non_null(strstr(text, n->name));
	assert_non_null(strstr(text, "one of panic"));
	assert_non_null(strstr(text, "keeping warn"));
}

static void test_bad_value_warning_bool(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(params_set(&f->p, "ACCEL_TRACE_CALLS", "sometimes", ORIGIN_ENV, "env"),
			 -EINVAL);
	const char *text = log_text(f);
	assert_non_null(strstr(text, "ACCEL_TRACE_CALLS"));
	assert_non_null(strstr(text, "'sometimes'"));
	assert_non_null(strstr(text, "0 or 1"));
	assert_non_null(strstr(text, "yes"));
	assert_non_null(strstr(text, "keeping 0"));
}

static void test_bad_value_quiet_below_warn(void **state)
{
	struct fixture *f = *state;
	log_to_file(f, ACCEL_LOG_ERROR);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "9", ORIGIN_ENV, "env"), -EINVAL);
	assert_int_equal(params_set(&f->p, "ACCEL_NOPE", "1", ORIGIN_ENV, "env"), -ENOENT);
	assert_string_equal(log_text(f), "");
	assert_int_equal(f->p.log_details, 0);
}

/* ---- STRING and PATH ---- */

static void test_string_values(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(params_set(&f->p, "ACCEL_APPLICATION_ID", "web-1", ORIGIN_ENV, "t"), 0);
	assert_string_equal(f->p.application_id, "web-1");
	/* Text is kept verbatim: no trimming, no case folding. */
	assert_int_equal(params_set(&f->p, "ACCEL_SPEC", " Low Latency ", ORIGIN_ENV, "t"), 0);
	assert_string_equal(f->p.spec, " Low Latency ");
	assert_int_equal(params_set(&f->p, "ACCEL_CONFIG_FILE", "/tmp/a b.conf", ORIGIN_ENV, "t"), 0);
	assert_string_equal(f->p.config_file, "/tmp/a b.conf");
	/* The empty string is a value too (for PATH: no file). */
	assert_int_equal(params_set(&f->p, "ACCEL_CONFIG_FILE", "", ORIGIN_ENV, "t"), 0);
	assert_string_equal(f->p.config_file, "");
	assert_false(params_is_default(&f->p, PARAM_ID_config_file));
	assert_string_equal(log_text(f), "");
}

static void test_string_length_limit(void **state)
{
	struct fixture *f = *state;
	char *longest = malloc(PARAM_STR_MAX + 1);
	assert_non_null(longest);

	memset(longest, 'x', PARAM_STR_MAX - 1);
	longest[PARAM_STR_MAX - 1] = '\0';
	assert_int_equal(params_set(&f->p, "ACCEL_APPLICATION_ID", longest, ORIGIN_ENV, "t"), 0);
	assert_int_equal(strlen(f->p.application_id), PARAM_STR_MAX - 1);

	longest[PARAM_STR_MAX - 1] = 'y';
	longest[PARAM_STR_MAX] = '\0';
	f->before = f->p;
	assert_int_equal(params_set(&f->p, "ACCEL_APPLICATION_ID", longest, ORIGIN_ENV, "t"), -EINVAL);
	assert_unchanged(f);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_FILE", longest, ORIGIN_ENV, "t"), -EINVAL);
	assert_unchanged(f);
	free(longest);

	/* The warning quotes at most 200 bytes of the value. */
	const char *text = log_text(f);
	assert_int_equal(count_lines(text), 2);
	assert_non_null(strstr(text, "ACCEL_LOG_FILE"));
	char run[202];
	memset(run, 'x', 200);
	run[200] = '\0';
	assert_non_null(strstr(text, run));
	run[200] = 'x';
	run[201] = '\0';
	assert_null(strstr(text, run));
}

/* ---- unknown names ---- */

static void test_unknown_name_close(void **state)
{
	struct fixture *f = *state;
	f->before = f->p;
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVL", "debug", ORIGIN_ENV, "environment"),
			 -ENOENT);
	assert_unchanged(f);
	const char *text = log_text(f);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "WARN"));
	assert_non_null(strstr(text, "ACCEL_TRACELEVL "));
	assert_non_null(strstr(text, "environment"));
	assert_non_null(strstr(text, "did you mean ACCEL_TRACELEVEL?"));
}

static void test_unknown_name_far(void **state)
{
	struct fixture *f = *state;
	f->before = f->p;
	assert_int_equal(params_set(&f->p, "ACCEL_FOOBAR", "1", ORIGIN_ENV, "environment"), -ENOENT);
	assert_unchanged(f);
	const char *text = log_text(f);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "ACCEL_FOOBAR"));
	assert_null(strstr(text, "did you mean"));
	assert_non_null(strstr(text, "accel --params"));
}

static void test_closest(void **state)
{
	(void)state;
	assert_string_equal(params_closest("ACCEL_TRACELEVL"), "ACCEL_TRACELEVEL");
	assert_string_equal(params_closest("ACCEL_TRACE_LEVEL"), "ACCEL_TRACELEVEL");
	assert_string_equal(params_closest("ACCEL_LOGFILE"), "ACCEL_LOG_FILE");
	assert_string_equal(params_closest("ACCEL_LOG_DETAIL"), "ACCEL_LOG_DETAILS");
	assert_string_equal(params_closest("ACCEL_LOG_COLOURS"), "ACCEL_LOG_COLORS");
	assert_string_equal(params_closest("ACCEL_TRACE_CALL"), "ACCEL_TRACE_CALLS");
	/* Case differences cost nothing. */
	assert_string_equal(params_closest("accel_log_file"), "ACCEL_LOG_FILE");
	assert_string_equal(params_closest("ACCEL_TRACELEVEL"), "ACCEL_TRACELEVEL");

	assert_null(params_closest("ACCEL_FOOBAR"));
	assert_null(params_closest("ACCEL_X"));
	assert_null(params_closest("HOME"));
	assert_null(params_closest(""));
	/* Longer than the distance routine handles: no suggestion, no overflow. */
	char huge[300];
	memset(huge, 'A', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_null(params_closest(huge));
}

/* ---- the environment ---- */

static void test_load_env(void **state)
{
	struct fixture *f = *state;
	char *envp[] = {
		"PATH=/usr/bin",
		"ACCEL_TRACELEVEL=debug",
		"ACCEL_LOG_DETAILS=3",
		"XACCEL_TRACE_CALLS=1",	    /* prefix must be at the start */
		"accel_offloaded_sockets=0", /* case matters */
		"MY_ACCEL_SPEC=x",
		"ACCEL_TRACE_CALLS",	    /* no '=': not a variable */
		"ACCEL_APPLICATION_ID=a=b", /* value is everything after the first '=' */
		NULL,
	};
	params_load_env(&f->p, envp);

	assert_int_equal(f->p.tracelevel, ACCEL_LOG_DEBUG);
	assert_int_equal(f->p.origin[PARAM_ID_tracelevel], ORIGIN_ENV);
	assert_int_equal(f->p.log_details, 3);
	assert_int_equal(f->p.origin[PARAM_ID_log_details], ORIGIN_ENV);
	assert_string_equal(f->p.application_id, "a=b");
	assert_int_equal(f->p.trace_calls, 0);
	assert_int_equal(f->p.origin[PARAM_ID_trace_calls], ORIGIN_DEFAULT);
	assert_int_equal(f->p.offloaded_sockets, 1);
	assert_string_equal(f->p.spec, "");
	assert_int_equal(f->p.origin[PARAM_ID_spec], ORIGIN_DEFAULT);
	assert_string_equal(log_text(f), "");
}

static void test_load_env_warns(void **state)
{
	struct fixture *f = *state;
	char *envp[] = {
		"ACCEL_TRACELEVL=5",
		"ACCEL_LOG_COLORS=maybe",
		"ACCEL_LOG_DETAILS=1",
		"ACCEL_=1",
		NULL,
	};
	params_load_env(&f->p, envp);
	/* The good one still applies; the others keep their defaults. */
	assert_int_equal(f->p.log_details, 1);
	assert_int_equal(f->p.log_colors, 1);
	assert_int_equal(f->p.origin[PARAM_ID_log_colors], ORIGIN_DEFAULT);
	assert_int_equal(f->p.tracelevel, ACCEL_LOG_WARN);

	const char *text = log_text(f);
	assert_int_equal(count_lines(text), 3);
	assert_non_null(strstr(text, "did you mean ACCEL_TRACELEVEL"));
	assert_non_null(strstr(text, "'maybe' for ACCEL_LOG_COLORS"));
	assert_non_null(strstr(text, "environment"));
}

static void test_load_env_empty(void **state)
{
	struct fixture *f = *state;
	char *none[] = { NULL };
	f->before = f->p;
	params_load_env(&f->p, NULL);
	params_load_env(&f->p, none);
	assert_unchanged(f);
	assert_string_equal(log_text(f), "");
}

static void test_load_env_overlong_name(void **state)
{
	struct fixture *f = *state;
	char entry[400];
	memset(entry, 'Z', sizeof(entry));
	memcpy(entry, "ACCEL_", 6);
	snprintf(entry + 300, sizeof(entry) - 300, "=1");
	char *envp[] = { entry, NULL };
	f->before = f->p;
	params_load_env(&f->p, envp);
	assert_unchanged(f);
}

static void test_load_env_path_needs_real_env(void **state)
{
	struct fixture *f = *state;
	char *envp[] = { "ACCEL_LOG_FILE=/tmp/accel-test.log",
			 "ACCEL_CONFIG_FILE=/tmp/accel-test.conf", NULL };

	/* Not in the real environment: secure_getenv() cannot vouch for it. */
	unsetenv("ACCEL_LOG_FILE");
	unsetenv("ACCEL_CONFIG_FILE");
	params_load_env(&f->p, envp);
	assert_string_equal(f->p.log_file, "");
	assert_string_equal(f->p.config_file, ACCEL_DEFAULT_CONFIG_FILE);
	assert_int_equal(f->p.origin[PARAM_ID_log_file], ORIGIN_DEFAULT);
	const char *text = log_text(f);
	assert_non_null(strstr(text, "ACCEL_LOG_FILE"));
	assert_non_null(strstr(text, "ACCEL_CONFIG_FILE"));

	assert_int_equal(setenv("ACCEL_LOG_FILE", "/tmp/accel-test.log", 1), 0);
	assert_int_equal(setenv("ACCEL_CONFIG_FILE", "/tmp/accel-test.conf", 1), 0);
	params_load_env(&f->p, envp);
	assert_string_equal(f->p.log_file, "/tmp/accel-test.log");
	assert_string_equal(f->p.config_file, "/tmp/accel-test.conf");
	assert_int_equal(f->p.origin[PARAM_ID_log_file], ORIGIN_ENV);
	assert_int_equal(f->p.origin[PARAM_ID_config_file], ORIGIN_ENV);
}

/* ---- origins, defaults, formatting ---- */

static void test_origin_tracking(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "1", ORIGIN_PROFILE, "p"), 0);
	assert_int_equal(f->p.origin[PARAM_ID_log_details], ORIGIN_PROFILE);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "2", ORIGIN_ENV, "e"), 0);
	assert_int_equal(f->p.origin[PARAM_ID_log_details], ORIGIN_ENV);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "3", ORIGIN_API, "a"), 0);
	assert_int_equal(f->p.origin[PARAM_ID_log_details], ORIGIN_API);

	/* A rejected value changes neither the value nor where it came from. */
	assert_int_equal(params_set(&f->p, "ACCEL_SPEC", "fast", ORIGIN_PROFILE, "p"), 0);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "8", ORIGIN_ENV, "e"), -EINVAL);
	assert_int_equal(f->p.log_details, 3);
	assert_int_equal(f->p.origin[PARAM_ID_log_details], ORIGIN_API);
	assert_int_equal(f->p.origin[PARAM_ID_spec], ORIGIN_PROFILE);

	/* Only the parameters that were set have an origin. */
	for (int i = 0; i < PARAM_COUNT; i++)
		if (i != PARAM_ID_log_details && i != PARAM_ID_spec)
			assert_int_equal(f->p.origin[i], ORIGIN_DEFAULT);

	/* Setting the default value explicitly records the origin but is still default. */
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_COLORS", "yes", ORIGIN_ENV, "e"), 0);
	assert_int_equal(f->p.origin[PARAM_ID_log_colors], ORIGIN_ENV);
	assert_true(params_is_default(&f->p, PARAM_ID_log_colors));
}

static void test_is_default(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "info", ORIGIN_ENV, "e"), 0);
	assert_false(params_is_default(&f->p, PARAM_ID_tracelevel));
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "2", ORIGIN_ENV, "e"), 0);
	assert_true(params_is_default(&f->p, PARAM_ID_tracelevel));

	assert_int_equal(params_set(&f->p, "ACCEL_APPLICATION_ID", "x", ORIGIN_ENV, "e"), 0);
	assert_false(params_is_default(&f->p, PARAM_ID_application_id));
	assert_int_equal(params_set(&f->p, "ACCEL_APPLICATION_ID", "", ORIGIN_ENV, "e"), 0);
	assert_true(params_is_default(&f->p, PARAM_ID_application_id));

	assert_int_equal(params_set(&f->p, "ACCEL_OFFLOADED_SOCKETS", "off", ORIGIN_ENV, "e"), 0);
	assert_false(params_is_default(&f->p, PARAM_ID_offloaded_sockets));
	assert_true(params_is_default(&f->p, PARAM_ID_trace_calls));
}

static void test_format(void **state)
{
	struct fixture *f = *state;
	char buf[PARAM_STR_MAX];

	params_format(&f->p, PARAM_ID_tracelevel, buf, sizeof(buf));
	assert_string_equal(buf, "warn");
	params_format(&f->p, PARAM_ID_log_details, buf, sizeof(buf));
	assert_string_equal(buf, "0");
	params_format(&f->p, PARAM_ID_log_colors, buf, sizeof(buf));
	assert_string_equal(buf, "1");
	params_format(&f->p, PARAM_ID_log_file, buf, sizeof(buf));
	assert_string_equal(buf, "");
	params_format(&f->p, PARAM_ID_config_file, buf, sizeof(buf));
	assert_string_equal(buf, ACCEL_DEFAULT_CONFIG_FILE);

	/* An enum set by number or alias prints its first name. */
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "4", ORIGIN_ENV, "e"), 0);
	params_format(&f->p, PARAM_ID_tracelevel, buf, sizeof(buf));
	assert_string_equal(buf, "debug");
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "func_all", ORIGIN_ENV, "e"), 0);
	params_format(&f->p, PARAM_ID_tracelevel, buf, sizeof(buf));
	assert_string_equal(buf, "finer");
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "DETAILS", ORIGIN_ENV, "e"), 0);
	params_format(&f->p, PARAM_ID_tracelevel, buf, sizeof(buf));
	assert_string_equal(buf, "details");
	/* A value with no name prints as a number. */
	f->p.tracelevel = 33;
	params_format(&f->p, PARAM_ID_tracelevel, buf, sizeof(buf));
	assert_string_equal(buf, "33");

	assert_int_equal(params_set(&f->p, "ACCEL_OFFLOADED_SOCKETS", "false", ORIGIN_ENV, "e"), 0);
	params_format(&f->p, PARAM_ID_offloaded_sockets, buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(params_set(&f->p, "ACCEL_SPEC", "latency", ORIGIN_ENV, "e"), 0);
	params_format(&f->p, PARAM_ID_spec, buf, sizeof(buf));
	assert_string_equal(buf, "latency");

	/* A short buffer truncates and stays terminated. */
	char small[5];
	memset(small, '#', sizeof(small));
	params_format(&f->p, PARAM_ID_config_file, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, ACCEL_DEFAULT_CONFIG_FILE, sizeof(small) - 1);
}

/* ---- report, --params, log settings ---- */

static void test_report_lists_non_defaults(void **state)
{
	struct fixture *f = *state;
	log_to_file(f, ACCEL_LOG_INFO);
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "info", ORIGIN_ENV, "e"), 0);
	assert_int_equal(params_set(&f->p, "ACCEL_APPLICATION_ID", "svc", ORIGIN_PROFILE, "p"), 0);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "1", ORIGIN_API, "a"), 0);
	/* Explicitly set to its default: not reported. */
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_COLORS", "1", ORIGIN_ENV, "e"), 0);
	clear_log(f);

	params_report(&f->p);
	const char *text = log_text(f);
	assert_int_equal(count_lines(text), 3);
	assert_non_null(strstr(text, "INFO"));
	assert_null(strstr(text, "WARN"));
	assert_non_null(strstr(text, "ACCEL_TRACELEVEL=info (environment)"));
	assert_non_null(strstr(text, "ACCEL_APPLICATION_ID=svc (profile)"));
	assert_non_null(strstr(text, "ACCEL_LOG_DETAILS=1 (API)"));
	assert_null(strstr(text, "ACCEL_LOG_COLORS"));
	assert_null(strstr(text, "ACCEL_CONFIG_FILE"));
	assert_null(strstr(text, "ACCEL_TRACE_CALLS"));
}

static void test_report_silent(void **state)
{
	struct fixture *f = *state;
	/* All defaults at info: nothing to say. */
	log_to_file(f, ACCEL_LOG_INFO);
	params_report(&f->p);
	assert_string_equal(log_text(f), "");

	/* Non-defaults, but the level is warn: the report is info. */
	log_to_file(f, ACCEL_LOG_WARN);
	assert_int_equal(params_set(&f->p, "ACCEL_SPEC", "x", ORIGIN_ENV, "e"), 0);
	params_report(&f->p);
	assert_string_equal(log_text(f), "");
}

/* The block of params_print output for one parameter, into buf. */
static void print_section(const char *out, const char *env, char *buf, size_t size)
{
	char head[128];
	snprintf(head, sizeof(head), "%s\n", env);
	const char *start = strstr(out, head);
	assert_non_null(start);
	/* A name must start a line, not be the tail of another. */
	assert_true(start == out || start[-1] == '\n');
	const char *end = strstr(start, "\n\n");
	assert_non_null(end);
	size_t len = (size_t)(end - start) + 1;
	assert_true(len < size);
	memcpy(buf, start, len);
	buf[len] = '\0';
}

static void test_print(void **state)
{
	struct fixture *f = *state;
	char *out = NULL;
	size_t out_len = 0;
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "debug", ORIGIN_ENV, "e"), 0);
	FILE *mem = open_memstream(&out, &out_len);
	assert_non_null(mem);
	params_print(mem, &f->p);
	assert_int_equal(fclose(mem), 0);

	struct accel_params defaults;
	params_defaults(&defaults);
	char section[2048], want[1024], def[512];
	for (int i = 0; i < PARAM_COUNT; i++) {
		const struct param_desc *d = &param_table[i];
		print_section(out, d->env, section, sizeof(section));
		assert_non_null(strstr(section, d->doc));
		params_format(&defaults, (enum param_id)i, def, sizeof(def));
		snprintf(want, sizeof(want), "default: %s\n", def[0] ? def : "\"\"");
		assert_non_null(strstr(section, want));
		switch (d->type) {
		case PARAM_BOOL:
			assert_non_null(strstr(section, "allowed: 0 or 1"));
			break;
		case PARAM_INT:
			snprintf(want, sizeof(want), "allowed: an integer from %ld to %ld\n", d->min,
				 d->max);
			assert_non_null(strstr(section, want));
			break;
		case PARAM_ENUM:
			assert_non_null(strstr(section, "allowed: one of "));
			for (const struct param_name *n = d->names; n->name; n++)
				assert_non_null(strstr(strstr(section, "allowed: "), n->name));
			break;
		case PARAM_STRING:
			assert_non_null(strstr(section, "allowed: any text"));
			break;
		case PARAM_PATH:
			assert_non_null(strstr(section, "allowed: a file path"));
			break;
		}
		if (i == PARAM_ID_tracelevel)
			assert_non_null(strstr(section, "value: debug (from environment)\n"));
		else
			assert_null(strstr(section, "(from "));
	}
	print_section(out, "ACCEL_LOG_DETAILS", section, sizeof(section));
	assert_non_null(strstr(section, "value: 0\n"));
	print_section(out, "ACCEL_SPEC", section, sizeof(section));
	assert_non_null(strstr(section, "value: \"\"\n"));
	free(out);
}

static void test_log_settings(void **state)
{
	struct fixture *f = *state;
	struct log_settings s;

	params_log_settings(&f->p, &s);
	assert_int_equal(s.level, ACCEL_LOG_WARN);
	assert_int_equal(s.details, 0);
	assert_int_equal(s.colors, 1);
	assert_non_null(s.file);
	assert_string_equal(s.file, "");

	assert_int_equal(params_set(&f->p, "ACCEL_LOG_FILE", "/tmp/l.%d", ORIGIN_ENV, "e"), 0);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_COLORS", "off", ORIGIN_ENV, "e"), 0);
	params_log_settings(&f->p, &s);
	assert_string_equal(s.file, "/tmp/l.%d");
	assert_int_equal(s.colors, 0);

	/* Info: details stay at the default. */
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "info", ORIGIN_ENV, "e"), 0);
	params_log_settings(&f->p, &s);
	assert_int_equal(s.level, ACCEL_LOG_INFO);
	assert_int_equal(s.details, 0);

	/* Debug and above: details follow the level... */
	static const char *const verbose[] = { "debug", "fine", "finer" };
	for (size_t i = 0; i < sizeof(verbose) / sizeof(verbose[0]); i++) {
		assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", verbose[i], ORIGIN_ENV, "e"),
				 0);
		params_log_settings(&f->p, &s);
		assert_int_equal(s.level, f->p.tracelevel);
		assert_int_equal(s.details, 2);
	}

	/* ...unless set explicitly, even to its default value, from any origin. */
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "0", ORIGIN_ENV, "e"), 0);
	params_log_settings(&f->p, &s);
	assert_int_equal(s.details, 0);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "3", ORIGIN_PROFILE, "p"), 0);
	params_log_settings(&f->p, &s);
	assert_int_equal(s.details, 3);
	assert_int_equal(params_set(&f->p, "ACCEL_LOG_DETAILS", "1", ORIGIN_API, "a"), 0);
	params_log_settings(&f->p, &s);
	assert_int_equal(s.details, 1);

	/* Explicit details at a quiet level are kept as given. */
	assert_int_equal(params_set(&f->p, "ACCEL_TRACELEVEL", "error", ORIGIN_ENV, "e"), 0);
	params_log_settings(&f->p, &s);
	assert_int_equal(s.level, ACCEL_LOG_ERROR);
	assert_int_equal(s.details, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_table_is_consistent),
		T(test_find),
		T(test_bool_every_spelling),
		T(test_bool_rejects),
		T(test_int_bounds),
		T(test_int_accepted_forms),
		T(test_int_rejects),
		T(test_enum_names_and_numbers),
		T(test_enum_case_insensitive),
		T(test_enum_rejects),
		T(test_bad_value_warning_int),
		T(test_bad_value_warning_enum),
		T(test_bad_value_warning_bool),
		T(test_bad_value_quiet_below_warn),
		T(test_string_values),
		T(test_string_length_limit),
		T(test_unknown_name_close),
		T(test_unknown_name_far),
		T(test_closest),
		T(test_load_env),
		T(test_load_env_warns),
		T(test_load_env_empty),
		T(test_load_env_overlong_name),
		T(test_load_env_path_needs_real_env),
		T(test_origin_tracking),
		T(test_is_default),
		T(test_format),
		T(test_report_lists_non_defaults),
		T(test_report_silent),
		T(test_print),
		T(test_log_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
