/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parameter profiles (ACCEL_SPEC): YAML files of ACCEL_* values that sit
 * between the compiled-in defaults and the environment. A profile is used
 * whole or not at all: any error (YAML syntax, unknown key, bad value,
 * missing or circular include) is logged with file:line:column and none
 * of its values apply.
 */
#ifndef ACCEL_CONFIG_PROFILE_H
#define ACCEL_CONFIG_PROFILE_H

#include <stddef.h>

#include "params.h"

/*
 * Where profile `name` is: a name containing '/' is a path; otherwise
 * $XDG_CONFIG_HOME/libaccel/profiles/NAME.yaml (~/.config when unset), then
 * SYSCONFDIR/libaccel/profiles/NAME.yaml. 0, or -ENOENT with buf holding
 * the last place tried.
 */
int profile_find(const char *name, char *buf, size_t size);

/* Apply profile `name` to p (origin ORIGIN_PROFILE). 0 or -errno (logged). */
int profile_apply(struct accel_params *p, const char *name);

/*
 * Everything in order: defaults, then the profile ACCEL_SPEC names (as
 * given in envp), then the ACCEL_* variables of envp.
 */
void params_load_all(struct accel_params *p, char **envp);

#endif
