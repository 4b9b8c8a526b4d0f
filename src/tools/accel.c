/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel: run a program with libaccel preloaded. Options become ACCEL_*
 * variables; libaccel.so is put first in LD_PRELOAD (once); then the
 * program replaces this process, so its exit status is the program's own.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/params.h"
#include "../config/profile.h"
#include "accel_tools.h"

extern char **environ;

#ifndef ACCEL_LIBDIR
#define ACCEL_LIBDIR "/usr/local/lib"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: accel [options] program [args...]\n"
		"Run program with libaccel preloaded.\n"
		"\n"
		"Options:\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n"
		"  -d, --debug           log at debug level (ACCEL_TRACELEVEL=debug)\n"
		"  -t, --trace           log every intercepted call like strace (ACCEL_TRACE_CALLS=1)\n"
		"      --no-warn         log errors only (ACCEL_TRACELEVEL=error)\n"
		"      --no-auto         offload no socket unless it opts in (ACCEL_OFFLOADED_SOCKETS=0)\n"
		"  -p, --profile NAME    start from parameter profile NAME (ACCEL_SPEC=NAME)\n"
		"  -c, --config FILE     rules file to use (ACCEL_CONFIG_FILE=FILE)\n"
		"      --params          list every ACCEL_* parameter with its value and exit\n"
		"      --check [FILE]    check a rules file (default: ACCEL_CONFIG_FILE or\n"
		"                        /etc/libaccel.conf), print its compiled table, and exit\n"
		"      --explain ROLE ADDR:PORT [ADDR:PORT] [--app NAME] [--id ID]\n"
		"                        print which rule decides such a socket, and exit\n"
		"\n"
		"Without options the environment's ACCEL_* variables apply. See accel(1).\n");
}

static int file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/* Build tree first (.libs beside this binary), then the installed library. */
static const char *find_library(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, size, "%s/.libs/libaccel.so", dirname(exe));
		if (file_exists(buf))
			return buf;
	}
	snprintf(buf, size, "%s/libaccel.so", ACCEL_LIBDIR);
	return buf;
}

/* Whether the space- or colon-separated list already holds lib. */
static int preload_has(const char *list, const char *lib)
{
	size_t len = strlen(lib);
	for (const char *p = list; (p = strstr(p, lib)) != NULL; p += len) {
		int starts = p == list || p[-1] == ':' || p[-1] == ' ';
		int ends = p[len] == '\0' || p[len] == ':' || p[len] == ' ';
		if (starts && ends)
			return 1;
	}
	return 0;
}

static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	if (old && preload_has(old, lib))
		return 0;
	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	size_t size = strlen(lib) + strlen(old) + 2;
	char *v = malloc(size);
	if (!v)
		return -1;
	snprintf(v, size, "%s:%s", lib, old);
	int rc = setenv("LD_PRELOAD", v, 1);
	free(v);
	return rc;
}

static int print_params(void)
{
	static struct accel_params p;
	params_load_all(&p, environ);
	params_print(stdout, &p);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { OPT_NO_WARN = 256, OPT_NO_AUTO, OPT_PARAMS, OPT_CHECK, OPT_EXPLAIN };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "debug", no_argument, NULL, 'd' },
		{ "trace", no_argument, NULL, 't' },
		{ "no-warn", no_argument, NULL, OPT_NO_WARN },
		{ "no-auto", no_argument, NULL, OPT_NO_AUTO },
		{ "profile", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "params", no_argument, NULL, OPT_PARAMS },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ NULL, 0, NULL, 0 },
	};
	int want_params = 0, want_check = 0, want_explain = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+hVdtp:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("accel (libaccel) %s\n", PACKAGE_VERSION);
			return 0;
		case 'd':
			setenv("ACCEL_TRACELEVEL", "debug", 1);
			break;
		case 't':
			setenv("ACCEL_TRACE_CALLS", "1", 1);
			break;
		case OPT_NO_WARN:
			setenv("ACCEL_TRACELEVEL", "error", 1);
			break;
		case OPT_NO_AUTO:
			setenv("ACCEL_OFFLOADED_SOCKETS", "0", 1);
			break;
		case 'p':
			setenv("ACCEL_SPEC", optarg, 1);
			break;
		case 'c':
			setenv("ACCEL_CONFIG_FILE", optarg, 1);
			break;
		case OPT_PARAMS:
			want_params = 1;
			break;
		case OPT_CHECK:
			want_check = 1;
			break;
		case OPT_EXPLAIN:
			want_explain = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (want_params)
		return print_params();
	if (want_check || want_explain) {
		static struct accel_params p;
		params_load_all(&p, environ);
		if (want_check && argc - optind > 1) {
			fprintf(stderr, "accel: --check takes one rules file\n");
			return 2;
		}
		if (want_check)
			return accel_check(optind < argc ? argv[optind] : p.config_file);
		return accel_explain(p.config_file, argc - optind, argv + optind,
				     (int)p.offloaded_sockets, p.application_id);
	}
	if (optind >= argc) {
		fprintf(stderr, "accel: no program given\n");
		usage(stderr);
		return 2;
	}

	char lib[PATH_MAX];
	find_library(lib, sizeof(lib));
	if (!file_exists(lib)) {
		fprintf(stderr, "accel: %s not found; running %s without libaccel\n", lib,
			argv[optind]);
	} else if (set_preload(lib) != 0) {
		fprintf(stderr, "accel: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return 126;
	}
	execvp(argv[optind], &argv[optind]);
	int err = errno;
	fprintf(stderr, "accel: cannot run %s: %s\n", argv[optind], strerror(err));
	return err == ENOENT ? 127 : 126;
}
