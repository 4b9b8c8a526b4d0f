/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading YAML profiles with libyaml's event parser. The accepted shape is
 * one mapping of scalars: ACCEL_NAME (or its lower-case short form) to a
 * value, plus `include:` naming other profiles (a name or a list, looked
 * for beside the including file first), which apply where they stand: keys
 * after an include override it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <yaml.h>

#include "files.h"
#include "profile.h"

#ifndef ACCEL_SYSCONFDIR
#define ACCEL_SYSCONFDIR "/etc"
#endif

enum { MAX_INCLUDE_DEPTH = 8 };

struct profile_ctx {
	struct accel_params *p;     /* scratch copy: the caller's is untouched on error */
	const char *stack[MAX_INCLUDE_DEPTH];
	int depth;
	char error[512];
};

static int file_exists(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	fclose(f);
	return 1;
}

int profile_find(const char *name, char *buf, size_t size)
{
	if (!name || !*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		snprintf(buf, size, "%s", name);
		return file_exists(buf) ? 0 : -ENOENT;
	}
	const char *xdg = secure_getenv("XDG_CONFIG_HOME");
	const char *home = secure_getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, size, "%s/libaccel/profiles/%s.yaml", xdg, name);
	else if (home && *home)
		snprintf(buf, size, "%s/.config/libaccel/profiles/%s.yaml", home, name);
	else
		buf[0] = '\0';
	if (buf[0] && file_exists(buf))
		return 0;
	snprintf(buf, size, "%s/libaccel/profiles/%s.yaml", ACCEL_SYSCONFDIR, name);
	return file_exists(buf) ? 0 : -ENOENT;
}

static int fail(struct profile_ctx *c, const char *file, const yaml_mark_t *m, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

static int fail(struct profile_ctx *c, const char *file, const yaml_mark_t *m, const char *fmt,
		...)
{
	if (c->error[0])
		return -EINVAL; /* keep the first error */
	int n = snprintf(c->error, sizeof(c->error), "%s:%zu:%zu: ", file,
			 m ? m->line + 1 : 0, m ? m->column + 1 : 0);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(c->error))
		vsnprintf(c->error + n, sizeof(c->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int apply_file(struct profile_ctx *c, const char *path);

static int include(struct profile_ctx *c, const char *file, const yaml_mark_t *m, const char *name)
{
	char path[PATH_MAX];
	/* A bare name is looked for beside the including file first. */
	const char *slash = strrchr(file, '/');
	int found = 0;
	if (!strchr(name, '/') && slash) {
		snprintf(path, sizeof(path), "%.*s/%s.yaml", (int)(slash - file), file, name);
		found = file_exists(path);
	}
	if (!found && profile_find(name, path, sizeof(path)) < 0)
		return fail(c, file, m, "included profile '%s' not found (last tried %s)", name, path);
	for (int i = 0; i < c->depth; i++)
		if (strcmp(c->stack[i], path) == 0)
			return fail(c, file, m, "profile '%s' includes itself (through %s)", name,
				    path);
	return apply_file(c, path);
}

/* The parameter a profile key names: ACCEL_TRACELEVEL or tracelevel. */
static const struct param_desc *key_param(const char *key)
{
	const struct param_desc *d = params_find(key);
	if (d)
		return d;
	char full[128];
	if (strlen(key) > 100)
		return NULL;
	int n = snprintf(full, sizeof(full), "%s", PARAM_PREFIX);
	for (const char *k = key; *k && n < (int)sizeof(full) - 1; k++)
		full[n++] = (char)(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k);
	full[n] = '\0';
	return params_find(full);
}

/* Keys one file has set, with the line of each: YAML keys are unique. */
struct seen_keys {
	size_t line[PARAM_COUNT]; /* 0: not seen */
};

static int set_value(struct profile_ctx *c, const char *file, const yaml_event_t *key,
		     const yaml_event_t *val, struct seen_keys *seen)
{
	const char *k = (const char *)key->data.scalar.value;
	const char *v = (const char *)val->data.scalar.value;
	const struct param_desc *d = key_param(k);
	if (!d) {
		const char *close = params_closest(k);
		return fail(c, file, &key->start_mark, "unknown parameter '%s'%s%s%s", k,
			    close ? " (did you mean " : "", close ? close : "", close ? "?)" : "");
	}
	if (strcmp(d->env, "ACCEL_SPEC") == 0)
		return fail(c, file, &key->start_mark, "ACCEL_SPEC cannot be set in a profile: "
			    "use include");
	size_t id = (size_t)(d - param_table);
	if (seen->line[id])
		return fail(c, file, &key->start_mark, "%s set twice (first on line %zu)", d->env,
			    seen->line[id]);
	seen->line[id] = key->start_mark.line + 1;
	char where[PATH_MAX + 32];
	snprintf(where, sizeof(where), "profile %s:%zu", file, val->start_mark.line + 1);
	int saved_level = accel_log_level;
	accel_log_level = -1; /* the error is reported once, below, for the whole file */
	int rc = params_set(c->p, d->env, v, ORIGIN_PROFILE, where);
	accel_log_level = saved_level;
	if (rc < 0)
		return fail(c, file, &val->start_mark, "bad value '%s' for %s ('accel --params' "
			    "lists what it accepts)", v, d->env);
	return 0;
}

/* Walk the events of one file. */
static int walk(struct profile_ctx *c, const char *file, yaml_parser_t *y)
{
	yaml_event_t ev, key;
	int have_key = 0, in_include_list = 0, seen_mapping = 0, rc = 0;
	struct seen_keys seen = { { 0 } };
	for (;;) {
		if (!yaml_parser_parse(y, &ev)) {
			yaml_mark_t m = y->problem_mark;
			rc = fail(c, file, &m, "YAML: %s", y->problem ? y->problem : "syntax error");
			break;
		}
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		switch (t) {
		case YAML_MAPPING_START_EVENT:
			if (seen_mapping || have_key)
				rc = fail(c, file, &ev.start_mark, "nested mappings are not allowed: "
					  "a profile is a flat list of NAME: value");
			seen_mapping = 1;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (have_key && !strcmp((const char *)key.data.scalar.value, "include"))
				in_include_list = 1;
			else
				rc = fail(c, file, &ev.start_mark, "a list is only allowed after "
					  "include:");
			break;
		case YAML_SEQUENCE_END_EVENT:
			in_include_list = 0;
			yaml_event_delete(&key);
			have_key = 0;
			break;
		case YAML_SCALAR_EVENT:
			if (!seen_mapping) {
				rc = fail(c, file, &ev.start_mark, "expected NAME: value lines");
			} else if (in_include_list) {
				rc = include(c, file, &ev.start_mark,
					     (const char *)ev.data.scalar.value);
			} else if (!have_key) {
				key = ev;
				have_key = 1;
				continue; /* keep the key event */
			} else {
				if (!strcmp((const char *)key.data.scalar.value, "include"))
					rc = include(c, file, &ev.start_mark,
						     (const char *)ev.data.scalar.value);
				else
					rc = set_value(c, file, &key, &ev, &seen);
				yaml_event_delete(&key);
				have_key = 0;
			}
			break;
		case YAML_ALIAS_EVENT:
			rc = fail(c, file, &ev.start_mark, "aliases are not allowed");
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	if (have_key)
		yaml_event_delete(&key);
	return rc;
}

static int apply_file(struct profile_ctx *c, const char *path)
{
	if (c->depth >= MAX_INCLUDE_DEPTH)
		return fail(c, path, NULL, "includes nested deeper than %d", MAX_INCLUDE_DEPTH);
	FILE *f = fopen(path, "re");
	if (!f) {
		int err = errno;
		fail(c, path, NULL, "cannot read: %s", strerror(err));
		return -err;
	}
	config_check_owner(path, "profile");
	yaml_parser_t y;
	if (!yaml_parser_initialize(&y)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&y, f);
	c->stack[c->depth++] = path;
	int rc = walk(c, path, &y);
	c->depth--;
	yaml_parser_delete(&y);
	fclose(f);
	return rc;
}

int profile_apply(struct accel_params *p, const char *name)
{
	char path[PATH_MAX];
	if (profile_find(name, path, sizeof(path)) < 0) {
		log_error("profile '%s' (ACCEL_SPEC) not found (last tried %s): no profile used",
			  name, path);
		return -ENOENT;
	}
	struct accel_params *scratch = malloc(sizeof(*scratch));
	if (!scratch)
		return -ENOMEM;
	*scratch = *p;
	struct profile_ctx c = { .p = scratch };
	int rc = apply_file(&c, path);
	if (rc < 0)
		log_error("%s; no value of profile '%s' is used", c.error[0] ? c.error : path, name);
	else
		*p = *scratch;
	free(scratch);
	return rc;
}

void params_load_all(struct accel_params *p, char **envp)
{
	params_defaults(p);
	const char *spec = NULL;
	for (char **e = envp; e && *e; e++)
		if (!strncmp(*e, "ACCEL_SPEC=", 11))
			spec = *e + 11;
	if (spec && *spec && getauxval(AT_SECURE))
		/* A set-user-ID program: a profile from the caller's environment
		 * could set paths (ACCEL_LOG_FILE) that secure_getenv refuses. */
		log_warn("ACCEL_SPEC ignored in a secure-execution program");
	else if (spec && *spec)
		profile_apply(p, spec);
	params_load_env(p, envp);
}
