/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * <accel/extra.h>: libaccel's extension API, usable without linking to
 * libaccel. accel_get_api() finds the library in the running process with
 * dlsym and returns NULL when it is not loaded, so the same binary runs
 * with and without libaccel. Link with -ldl on glibc older than 2.34.
 */
#ifndef ACCEL_EXTRA_H
#define ACCEL_EXTRA_H

#include <dlfcn.h>
#include <stddef.h>

#define ACCEL_API_VERSION 1

struct accel_api {
	/* sizeof(struct accel_api) of the library: fields beyond it are absent. */
	size_t size;
	int version; /* ACCEL_API_VERSION of the library */
	/*
	 * Add one rule in the rules-file syntax ("use os tcp_client *:5432")
	 * at the top of this process's rules. Sockets decided afterwards see
	 * it; sockets already decided keep their decision. Safe while other
	 * threads create sockets. Returns 0, or -1 with errno EINVAL (the rule
	 * does not parse: the reason is logged) or ENOMEM.
	 */
	int (*add_conf_rule)(const char *rule);
};

/* The same functions, for programs that link with -laccel. */
const struct accel_api *accel_get_api_v1(void);
int accel_add_conf_rule(const char *rule);

/* libaccel's API if it is loaded in this process, else NULL. */
static inline const struct accel_api *accel_get_api(void)
{
	const struct accel_api *(*get)(void);
	*(void **)&get = dlsym(RTLD_DEFAULT, "accel_get_api_v1");
	return get ? get() : NULL;
}

#endif
