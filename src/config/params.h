/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACCEL_* parameters: one table (params.def), one struct of values, and
 * the functions that fill it from the environment or a profile. A bad value
 * warns and keeps what was there; an unknown name warns with the closest
 * known one. Nothing here knows about sockets.
 */
#ifndef ACCEL_CONFIG_PARAMS_H
#define ACCEL_CONFIG_PARAMS_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"

#ifndef ACCEL_DEFAULT_CONFIG_FILE
#define ACCEL_DEFAULT_CONFIG_FILE "/etc/libaccel.conf"
#endif

#define PARAM_PREFIX "ACCEL_"
#define PARAM_STR_MAX 4096

enum param_type { PARAM_BOOL, PARAM_INT, PARAM_ENUM, PARAM_STRING, PARAM_PATH };

/* Where a value came from, for the start-up report. */
enum param_origin { ORIGIN_DEFAULT, ORIGIN_PROFILE, ORIGIN_ENV, ORIGIN_API };

struct param_name {
	const char *name;
	long value;
};

#define PARAM_CTYPE_BOOL long
#define PARAM_CTYPE_INT long
#define PARAM_CTYPE_ENUM long
#define PARAM_CTYPE_STRING char
#define PARAM_CTYPE_PATH char
#define PARAM_DIM_BOOL
#define PARAM_DIM_INT
#define PARAM_DIM_ENUM
#define PARAM_DIM_STRING [PARAM_STR_MAX]
#define PARAM_DIM_PATH [PARAM_STR_MAX]

enum param_id {
#define PARAM(field, type, ...) PARAM_ID_##field,
#include "params.def"
#undef PARAM
	PARAM_COUNT
};

struct accel_params {
#define PARAM(field, env, type, ...) PARAM_CTYPE_##type field PARAM_DIM_##type;
#include "params.def"
#undef PARAM
	unsigned char origin[PARAM_COUNT]; /* enum param_origin */
};

struct param_desc {
	const char *env;   /* "ACCEL_TRACELEVEL" */
	enum param_type type;
	long def;
	const char *sdef;
	long min, max;
	const struct param_name *names; /* ENUM: NULL-terminated */
	const char *doc;
	size_t offset;
};

extern const struct param_name param_names_level[];
extern const struct param_desc param_table[PARAM_COUNT];

/* Set every parameter to its default. */
void params_defaults(struct accel_params *p);
/* Look a parameter up by its full name ("ACCEL_TRACELEVEL"); NULL if none. */
const struct param_desc *params_find(const char *env);
/* Closest known name to an unknown one, or NULL when nothing is close. */
const char *params_closest(const char *env);
/*
 * Parse `value` for `env` into p. Returns 0, -ENOENT for an unknown name,
 * -EINVAL for a bad value; both are logged at warn with `where` (for
 * example "environment" or "profile latency.yaml:3") and leave p as it was.
 */
int params_set(struct accel_params *p, const char *env, const char *value,
	       enum param_origin origin, const char *where);
/* Read every ACCEL_* variable of envp (NULL-terminated "NAME=value"). */
void params_load_env(struct accel_params *p, char **envp);
/* Current value as text ("warn", "1", "/etc/libaccel.conf"). */
void params_format(const struct accel_params *p, enum param_id id, char *buf, size_t size);
/* Whether the value differs from the default. */
int params_is_default(const struct accel_params *p, enum param_id id);
/* Log the parameters that differ from their defaults, at info. */
void params_report(const struct accel_params *p);
/* The table for `accel --params`: name, current value, default, allowed, doc. */
void params_print(FILE *out, const struct accel_params *p);
/* Derived log settings (log_details follows the level unless set). */
void params_log_settings(const struct accel_params *p, struct log_settings *s);

#endif
