/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loading the rules file once, at start-up (never on a decision, which may
 * run in a signal handler), and swapping in a new compiled table when a
 * rule is added at run time. A file that does not parse contributes no
 * rule at all: the error is logged with file:line:column and every socket
 * no run-time rule matches stays on the kernel.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../config/files.h"
#include "../config/log.h"
#include "../config/rules.h"
#include "core.h"
#include "rules_state.h"

extern char *program_invocation_short_name;

static struct rules_state *current;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rules_state empty = { .block = -1, .source = "none" };

static void log_rules_error(const struct rules_error *err)
{
	log_error("%s:%d:%d: %s (at '%s'); no rule of this file is used: every socket stays "
		  "on the kernel",
		  err->file, err->line, err->col, err->msg, err->text);
}

static struct rules_state *state_new(struct rules_set *set, const char *source, int rejected)
{
	struct rules_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	if (policy_compile(set, &st->table) < 0) {
		free(st);
		return NULL;
	}
	st->block = policy_select_block(st->table, program_invocation_short_name,
					accel_params.application_id);
	st->source = source;
	st->rejected = rejected;
	return st;
}

static void load(void)
{
	const char *path = accel_params.config_file;
	struct rules_set *set = NULL;
	struct rules_error err;
	int rejected = 0, builtin;
	int rc = config_read_rules(path, &set, &err, &builtin);
	const char *source = builtin ? "built-in default" : path;
	if (builtin)
		log_debug("no rules file %s: using the built-in default rules", path);
	if (rc < 0) {
		log_rules_error(&err);
		rejected = 1;
		set = NULL;
	}
	struct rules_state *st = state_new(set, source, rejected);
	if (!st) {
		log_error("out of memory compiling the rules of %s: every socket stays on the kernel",
			  path);
		empty.rejected = 1;
		st = &empty;
	}
	__atomic_store_n(&current, st, __ATOMIC_RELEASE);
	if (st->block >= 0)
		log_debug("rules from %s: block %d for program %s, application id '%s'", st->source,
			  st->block + 1, program_invocation_short_name, accel_params.application_id);
	else
		log_debug("rules from %s: no block for program %s, application id '%s'", st->source,
			  program_invocation_short_name, accel_params.application_id);
}

void rules_state_load(void)
{
	pthread_once(&load_once, load);
}

const struct rules_state *rules_state_get(void)
{
	return __atomic_load_n(&current, __ATOMIC_ACQUIRE);
}

/* The rules of this process's block, in order, or none. */
static void block_rules(const struct rules_state *st, const struct rule **rules, size_t *n)
{
	*rules = NULL;
	*n = 0;
	if (!st->table || st->block < 0)
		return;
	const struct rule_block *b = policy_block(st->table, st->block);
	*rules = b->rules;
	*n = b->nrules;
}

int rules_state_add(const char *text)
{
	struct rules_set *one;
	struct rules_error err;
	if (!text) {
		log_error("accel_add_conf_rule: NULL rule; not added");
		return -EINVAL;
	}
	int rc = rules_parse_string(text, strlen(text), "accel_add_conf_rule", &one, &err);
	if (rc == -ENOMEM) {
		log_error("accel_add_conf_rule: out of memory; rule not added");
		return -ENOMEM;
	}
	if (rc < 0) {
		log_error("accel_add_conf_rule: %d:%d: %s (at '%s'); rule not added", err.line,
			  err.col, err.msg, err.text);
		return -EINVAL;
	}
	if (one->nblocks != 1 || one->blocks[0].line != 0 || one->blocks[0].nrules != 1) {
		log_error("accel_add_conf_rule: '%s': expected exactly one 'use' rule; not added",
			  text);
		rules_free(one);
		return -EINVAL;
	}

	/* Each added rule is its own "file", numbered from 1, so that logs and
	 * decisions tell them apart: accel_add_conf_rule#2:1. */
	static unsigned int added;
	char *name = NULL;
	pthread_mutex_lock(&add_lock);
	if (asprintf(&name, "accel_add_conf_rule#%u", added + 1) < 0) {
		pthread_mutex_unlock(&add_lock);
		rules_free(one);
		return -ENOMEM;
	}
	free(one->file);
	one->file = name;
	one->blocks[0].rules[0].file = name;
	added++;
	rules_state_load(); /* a rule added before start-up goes on top of the file's */
	const struct rules_state *old = rules_state_get();
	const struct rule *prev;
	size_t nprev;
	block_rules(old, &prev, &nprev);
	rc = -ENOMEM;
	/* The new process-wide set: one implicit block, the new rule first. */
	struct rules_set *set = calloc(1, sizeof(*set));
	struct rule_block *b = calloc(1, sizeof(*b));
	struct rule *rules = calloc(nprev + 1, sizeof(*rules));
	char *star = strdup("*");
	if (!set || !b || !rules || !star)
		goto fail;
	rules[0] = one->blocks[0].rules[0];
	if (nprev)
		memcpy(rules + 1, prev, nprev * sizeof(*rules));
	b->program = b->app_id = star;
	b->rules = rules;
	b->nrules = nprev + 1;
	set->file = one->file;
	set->blocks = b;
	set->nblocks = 1;
	struct rules_state *st = state_new(set, old->source, old->rejected);
	if (!st)
		goto fail;
	/* The old state stays allocated: other threads may still be reading it. */
	__atomic_store_n(&current, st, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&add_lock);
	log_info("rule added at the top: %s", text);
	return 0;
fail:
	pthread_mutex_unlock(&add_lock);
	free(set);
	free(b);
	free(rules);
	free(star);
	rules_free(one);
	return rc;
}
