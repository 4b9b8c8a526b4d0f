/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The rules in force in this process: loaded from ACCEL_CONFIG_FILE (or the
 * built-in default) at start-up, extended at run time by
 * accel_add_conf_rule(). Each state is immutable once published and is
 * never freed, so a thread deciding needs only one acquire load.
 */
#ifndef ACCEL_CORE_RULES_STATE_H
#define ACCEL_CORE_RULES_STATE_H

#include "../policy/policy.h"

struct rules_state {
	struct policy_table *table;
	int block;            /* block of this process, -1: none */
	const char *source;   /* the file read, or "built-in default" */
	int rejected;         /* the file had an error: unmatched sockets stay on the kernel */
};

/* Read the rules file (once; called at start-up). */
void rules_state_load(void);
/* The rules in force, or NULL before start-up has loaded them. */
const struct rules_state *rules_state_get(void);
/* Put one "use ..." rule at the top. 0, -EINVAL (logged) or -ENOMEM. */
int rules_state_add(const char *text);

#endif
