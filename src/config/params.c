/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parsing and checking ACCEL_* values against the table in params.def.
 * Runs at start-up (constructor) and in tools; never on a data path.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "params.h"

const struct param_name param_names_level[] = {
	{ "panic", ACCEL_LOG_PANIC },     { "0", ACCEL_LOG_PANIC },
	{ "error", ACCEL_LOG_ERROR },     { "1", ACCEL_LOG_ERROR },
	{ "warn", ACCEL_LOG_WARN },       { "warning", ACCEL_LOG_WARN },
	{ "2", ACCEL_LOG_WARN },          { "info", ACCEL_LOG_INFO },
	{ "information", ACCEL_LOG_INFO }, { "3", ACCEL_LOG_INFO },
	{ "details", ACCEL_LOG_DETAILS }, { "debug", ACCEL_LOG_DEBUG },
	{ "4", ACCEL_LOG_DEBUG },         { "fine", ACCEL_LOG_FINE },
	{ "func", ACCEL_LOG_FINE },       { "5", ACCEL_LOG_FINE },
	{ "finer", ACCEL_LOG_FINER },     { "func_all", ACCEL_LOG_FINER },
	{ "6", ACCEL_LOG_FINER },         { NULL, 0 },
};

const struct param_desc param_table[PARAM_COUNT] = {
#define PARAM(field, env, type, def, sdef, min, max, names, doc)                 \
	[PARAM_ID_##field] = { env, PARAM_##type, def, sdef, min, max, names, doc, \
			       offsetof(struct accel_params, field) },
#include "params.def"
#undef PARAM
};

static long *int_slot(struct accel_params *p, const struct param_desc *d)
{
	return (long *)((char *)p + d->offset);
}

static char *str_slot(struct accel_params *p, const struct param_desc *d)
{
	return (char *)p + d->offset;
}

static int is_string(const struct param_desc *d)
{
	return d->type == PARAM_STRING || d->type == PARAM_PATH;
}

void params_defaults(struct accel_params *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < PARAM_COUNT; i++) {
		const struct param_desc *d = &param_table[i];
		if (is_string(d))
			snprintf(str_slot(p, d), PARAM_STR_MAX, "%s", d->sdef ? d->sdef : "");
		else
			*int_slot(p, d) = d->def;
	}
}

const struct param_desc *params_find(const char *env)
{
	for (int i = 0; i < PARAM_COUNT; i++)
		if (strcmp(param_table[i].env, env) == 0)
			return &param_table[i];
	return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = toupper((unsigned char)a[i - 1]) != toupper((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *params_closest(const char *env)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (int i = 0; i < PARAM_COUNT; i++) {
		size_t d = edit_distance(env, param_table[i].env);
		if (d < best_d) {
			best_d = d;
			best = param_table[i].env;
		}
	}
	size_t limit = strlen(env) / 3;
	if (limit < 2)
		limit = 2;
	return best_d <= limit ? best : NULL;
}

static void describe_allowed(const struct param_desc *d, char *buf, size_t size)
{
	size_t used = 0;
	switch (d->type) {
	case PARAM_BOOL:
		snprintf(buf, size, "0 or 1 (also no/yes, off/on, false/true)");
		return;
	case PARAM_INT:
		snprintf(buf, size, "an integer from %ld to %ld", d->min, d->max);
		return;
	case PARAM_ENUM:
		buf[0] = '\0';
		for (const struct param_name *n = d->names; n->name && used + 1 < size; n++) {
			int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "one of ", n->name);
			if (w < 0)
				break;
			used += (size_t)w;
		}
		return;
	case PARAM_STRING:
		snprintf(buf, size, "any text shorter than %d bytes", PARAM_STR_MAX);
		return;
	case PARAM_PATH:
		snprintf(buf, size, "a file path shorter than %d bytes", PARAM_STR_MAX);
		return;
	}
}

/* Decimal, or hexadecimal after 0x; never octal (010 is ten). */
static int parse_long(const char *s, long *out)
{
	char *end;
	const char *digits = s + (*s == '+' || *s == '-');
	int base = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') ? 16 : 10;
	if (!*s)
		return -EINVAL;
	errno = 0;
	long v = strtol(s, &end, base);
	if (errno || *end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Copy value without surrounding white space; -EINVAL if it does not fit. */
static int trim(const char *value, char *buf, size_t size)
{
	while (isspace((unsigned char)*value))
		value++;
	size_t len = strlen(value);
	while (len && isspace((unsigned char)value[len - 1]))
		len--;
	if (len >= size)
		return -EINVAL;
	memcpy(buf, value, len);
	buf[len] = '\0';
	return 0;
}

static int parse_bool(const char *s, long *out)
{
	static const char *const yes[] = { "1", "yes", "on", "true", "y", "enable", "enabled" };
	static const char *const no[] = { "0", "no", "off", "false", "n", "disable", "disabled" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -EINVAL;
}

static int parse_enum(const struct param_desc *d, const char *s, long *out)
{
	for (const struct param_name *n = d->names; n->name; n++)
		if (strcasecmp(s, n->name) == 0)
			return *out = n->value, 0;
	return -EINVAL;
}

int params_set(struct accel_params *p, const char *env, const char *value,
	       enum param_origin origin, const char *where)
{
	const struct param_desc *d = params_find(env);
	if (!d) {
		const char *close = params_closest(env);
		if (close)
			log_warn("unknown parameter %s (%s): did you mean %s? Ignored.", env, where, close);
		else
			log_warn("unknown parameter %s (%s): ignored; 'accel --params' lists them all",
				 env, where);
		return -ENOENT;
	}
	long v = 0;
	int rc = 0;
	char word[64];
	switch (d->type) {
	case PARAM_BOOL:
		rc = trim(value, word, sizeof(word)) ?: parse_bool(word, &v);
		break;
	case PARAM_INT:
		rc = trim(value, word, sizeof(word)) ?: parse_long(word, &v);
		if (rc == 0 && (v < d->min || v > d->max))
			rc = -EINVAL;
		break;
	case PARAM_ENUM:
		rc = trim(value, word, sizeof(word)) ?: parse_enum(d, word, &v);
		break;
	case PARAM_STRING:
	case PARAM_PATH:
		if (strlen(value) >= PARAM_STR_MAX)
			rc = -EINVAL;
		break;
	}
	int id = (int)(d - param_table);
	if (rc) {
		char allowed[512], current[128];
		describe_allowed(d, allowed, sizeof(allowed));
		params_format(p, (enum param_id)id, current, sizeof(current));
		log_warn("bad value '%.200s' for %s (%s): expected %s; keeping %s", value, d->env,
			 where, allowed, current);
		return rc;
	}
	if (is_string(d))
		snprintf(str_slot(p, d), PARAM_STR_MAX, "%s", value);
	else
		*int_slot(p, d) = v;
	p->origin[id] = (unsigned char)origin;
	return 0;
}

void params_load_env(struct accel_params *p, char **envp)
{
	for (; envp && *envp; envp++) {
		const char *entry = *envp;
		if (strncmp(entry, PARAM_PREFIX, sizeof(PARAM_PREFIX) - 1) != 0)
			continue;
		const char *eq = strchr(entry, '=');
		if (!eq || eq - entry >= 128)
			continue;
		char name[128];
		memcpy(name, entry, (size_t)(eq - entry));
		name[eq - entry] = '\0';
		const char *value = eq + 1;
		const struct param_desc *d = params_find(name);
		if (d && d->type == PARAM_PATH && !secure_getenv(name)) {
			/* A set-user-ID program: a path from the caller's environment is not trusted. */
			log_warn("%s ignored in a secure-execution program", name);
			continue;
		}
		params_set(p, name, value, ORIGIN_ENV, "environment");
	}
}

void params_format(const struct accel_params *p, enum param_id id, char *buf, size_t size)
{
	const struct param_desc *d = &param_table[id];
	const long *iv = (const long *)((const char *)p + d->offset);
	switch (d->type) {
	case PARAM_BOOL:
	case PARAM_INT:
		snprintf(buf, size, "%ld", *iv);
		return;
	case PARAM_ENUM:
		for (const struct param_name *n = d->names; n->name; n++)
			if (n->value == *iv) {
				snprintf(buf, size, "%s", n->name);
				return;
			}
		snprintf(buf, size, "%ld", *iv);
		return;
	case PARAM_STRING:
	case PARAM_PATH:
		snprintf(buf, size, "%s", (const char *)p + d->offset);
		return;
	}
}

int params_is_default(const struct accel_params *p, enum param_id id)
{
	const struct param_desc *d = &param_table[id];
	if (is_string(d))
		return strcmp((const char *)p + d->offset, d->sdef ? d->sdef : "") == 0;
	return *(const long *)((const char *)p + d->offset) == d->def;
}

static const char *origin_name(int origin)
{
	switch (origin) {
	case ORIGIN_PROFILE:
		return "profile";
	case ORIGIN_ENV:
		return "environment";
	case ORIGIN_API:
		return "API";
	default:
		return "default";
	}
}

void params_report(const struct accel_params *p)
{
	char value[256];
	for (int i = 0; i < PARAM_COUNT; i++) {
		if (params_is_default(p, (enum param_id)i))
			continue;
		params_format(p, (enum param_id)i, value, sizeof(value));
		log_info("%s=%s (%s)", param_table[i].env, value, origin_name(p->origin[i]));
	}
}

void params_print(FILE *out, const struct accel_params *p)
{
	char value[256], def[256], allowed[512];
	struct accel_params defaults;
	params_defaults(&defaults);
	for (int i = 0; i < PARAM_COUNT; i++) {
		const struct param_desc *d = &param_table[i];
		params_format(p, (enum param_id)i, value, sizeof(value));
		params_format(&defaults, (enum param_id)i, def, sizeof(def));
		describe_allowed(d, allowed, sizeof(allowed));
		int set = p->origin[i] != ORIGIN_DEFAULT;
		fprintf(out, "%s\n    %s\n    value: %s%s%s%s\n    default: %s\n    allowed: %s\n\n",
			d->env, d->doc, value[0] ? value : "\"\"", set ? " (from " : "",
			set ? origin_name(p->origin[i]) : "", set ? ")" : "", def[0] ? def : "\"\"",
			allowed);
	}
}

void params_log_settings(const struct accel_params *p, struct log_settings *s)
{
	s->level = (int)p->tracelevel;
	s->file = p->log_file;
	s->details = (int)p->log_details;
	if (p->origin[PARAM_ID_log_details] == ORIGIN_DEFAULT && p->tracelevel >= ACCEL_LOG_DEBUG)
		s->details = 2;
	s->colors = (int)p->log_colors;
}
