/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for parameter profiles (src/config/profile.c): lookup, keys
 * in both spellings, includes, precedence defaults < profile < environment,
 * and every error rejecting the whole profile with file:line:column.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/profile.h"

struct fixture {
	char dir[64];
	char log[128];
	char text[16384];
	struct accel_params p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/accel-profile-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	struct log_settings s = { .level = ACCEL_LOG_WARN, .file = f->log };
	log_configure(&s);
	params_defaults(&f->p);
	setenv("XDG_CONFIG_HOME", f->dir, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct log_settings s = { .level = ACCEL_LOG_WARN, .file = "" };
	log_configure(&s);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	unsetenv("XDG_CONFIG_HOME");
	free(f);
	return 0;
}

static void write_file(struct fixture *f, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0644);
}

static const char *log_text(struct fixture *f)
{
	f->text[0] = '\0';
	FILE *fp = fopen(f->log, "r");
	if (!fp)
		return f->text;
	size_t n = fread(f->text, 1, sizeof(f->text) - 1, fp);
	f->text[n] = '\0';
	fclose(fp);
	return f->text;
}

static char *path_of(struct fixture *f, const char *name)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return path;
}

static void test_apply_both_spellings(void **state)
{
	struct fixture *f = *state;
	write_file(f, "a.yaml", "# comment\nACCEL_TRACELEVEL: debug\nlog_details: 3\n"
				"log_colors: off  # why\n");
	assert_int_equal(profile_apply(&f->p, path_of(f, "a.yaml")), 0);
	assert_int_equal(f->p.tracelevel, ACCEL_LOG_DEBUG);
	assert_int_equal(f->p.log_details, 3);
	assert_int_equal(f->p.log_colors, 0);
	assert_int_equal(f->p.origin[PARAM_ID_tracelevel], ORIGIN_PROFILE);
	assert_int_equal(f->p.origin[PARAM_ID_log_file], ORIGIN_DEFAULT);
	assert_string_equal(log_text(f), "");
}

static void test_find_by_name(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/libaccel", f->dir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/libaccel/profiles", f->dir);
	mkdir(dir, 0755);
	write_file(f, "libaccel/profiles/mine.yaml", "tracelevel: info\n");
	assert_int_equal(profile_find("mine", path, sizeof(path)), 0);
	assert_string_equal(path, path_of(f, "libaccel/profiles/mine.yaml"));
	assert_int_equal(profile_apply(&f->p, "mine"), 0);
	assert_int_equal(f->p.tracelevel, ACCEL_LOG_INFO);
	assert_int_equal(profile_find("nonexistent-profile", path, sizeof(path)), -ENOENT);
	assert_int_equal(profile_find("", path, sizeof(path)), -ENOENT);
}

static void test_include_order(void **state)
{
	struct fixture *f = *state;
	write_file(f, "base.yaml", "tracelevel: info\nlog_details: 1\n");
	write_file(f, "top.yaml", "include: base\nlog_details: 2\n");
	write_file(f, "list.yaml", "log_details: 3\ninclude: [base]\n");
	assert_int_equal(profile_apply(&f->p, path_of(f, "top.yaml")), 0);
	assert_int_equal(f->p.tracelevel, ACCEL_LOG_INFO);
	assert_int_equal(f->p.log_details, 2); /* after the include: overrides it */
	params_defaults(&f->p);
	assert_int_equal(profile_apply(&f->p, path_of(f, "list.yaml")), 0);
	assert_int_equal(f->p.log_details, 1); /* the include came last */
}

/* Each bad profile leaves the parameters untouched and names the place. */
static void expect_rejected(struct fixture *f, const char *name, const char *text,
			    const char *where, const char *what)
{
	write_file(f, name, text);
	params_defaults(&f->p);
	f->p.log_details = 2;
	struct accel_params before = f->p;
	truncate(f->log, 0);
	assert_true(profile_apply(&f->p, path_of(f, name)) < 0);
	assert_memory_equal(&before, &f->p, sizeof(before));
	const char *log = log_text(f);
	if (!strstr(log, where) || !strstr(log, what) || !strstr(log, "no value of profile"))
		fail_msg("for %s expected '%s' and '%s' in: %s", name, where, what, log);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	expect_rejected(f, "unknown.yaml", "tracelevel: info\nACCEL_TRACELEVL: debug\n",
			"unknown.yaml:2:1", "did you mean ACCEL_TRACELEVEL");
	expect_rejected(f, "badvalue.yaml", "log_colors: 1\nlog_details: 9\n", "badvalue.yaml:2:14",
			"bad value '9' for ACCEL_LOG_DETAILS");
	expect_rejected(f, "syntax.yaml", "log_details: 1\ntracelevel: \"info\n", "syntax.yaml:",
			"YAML");
	expect_rejected(f, "nested.yaml", "tracelevel:\n  a: b\n", "nested.yaml:2:",
			"nested mappings");
	expect_rejected(f, "missing.yaml", "include: no-such-profile-here\n", "missing.yaml:1:10",
			"not found");
	expect_rejected(f, "loop.yaml", "include: loop\n", "loop.yaml:1:10", "includes itself");
	expect_rejected(f, "spec.yaml", "spec: other\n", "spec.yaml:1:1", "ACCEL_SPEC");
	expect_rejected(f, "list.yaml", "log_details: [1, 2]\n", "list.yaml:1:14", "list");
	expect_rejected(f, "scalar.yaml", "just text\n", "scalar.yaml:1:1", "NAME: value");
	expect_rejected(f, "twice.yaml", "tracelevel: info\nACCEL_TRACELEVEL: debug\n", "twice.yaml:2:1",
			"ACCEL_TRACELEVEL set twice (first on line 1)");
	/* an error inside an include rejects the including profile too */
	write_file(f, "inner.yaml", "log_details: x\n");
	expect_rejected(f, "outer.yaml", "tracelevel: info\ninclude: inner\n", "inner.yaml:1:14",
			"bad value");
}

static void test_not_found(void **state)
{
	struct fixture *f = *state;
	struct accel_params before = f->p;
	assert_int_equal(profile_apply(&f->p, "no-such-profile"), -ENOENT);
	assert_memory_equal(&before, &f->p, sizeof(before));
	assert_non_null(strstr(log_text(f), "profile 'no-such-profile' (ACCEL_SPEC) not found"));
}

static void test_precedence(void **state)
{
	struct fixture *f = *state;
	write_file(f, "p.yaml", "tracelevel: debug\nlog_details: 3\n");
	char spec[PATH_MAX + 16];
	snprintf(spec, sizeof(spec), "ACCEL_SPEC=%s", path_of(f, "p.yaml"));
	char *env[] = { spec, "ACCEL_LOG_DETAILS=1", "OTHER=1", NULL };
	params_load_all(&f->p, env);
	assert_int_equal(f->p.tracelevel, ACCEL_LOG_DEBUG);      /* profile */
	assert_int_equal(f->p.origin[PARAM_ID_tracelevel], ORIGIN_PROFILE);
	assert_int_equal(f->p.log_details, 1);                  /* environment wins */
	assert_int_equal(f->p.origin[PARAM_ID_log_details], ORIGIN_ENV);
	assert_int_equal(f->p.log_colors, 1);                   /* default */
}

static void test_world_writable_warns(void **state)
{
	struct fixture *f = *state;
	write_file(f, "open.yaml", "tracelevel: info\n");
	chmod(path_of(f, "open.yaml"), 0666);
	assert_int_equal(profile_apply(&f->p, path_of(f, "open.yaml")), 0);
	assert_int_equal(f->p.tracelevel, ACCEL_LOG_INFO); /* used ... */
	assert_non_null(strstr(log_text(f), "may be written by users other than")); /* ... warned */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_both_spellings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_world_writable_warns, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
