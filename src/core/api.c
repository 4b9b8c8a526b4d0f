/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The exported extension API of <accel/extra.h>.
 */
#include "config.h"

#include <errno.h>

#include "../../include/accel/extra.h"
#include "interpose.h"
#include "rules_state.h"

ACCEL_EXPORT int accel_add_conf_rule(const char *rule)
{
	return (int)libc_ret(rules_state_add(rule));
}

static const struct accel_api api = {
	.size = sizeof(struct accel_api),
	.version = ACCEL_API_VERSION,
	.add_conf_rule = accel_add_conf_rule,
};

ACCEL_EXPORT const struct accel_api *accel_get_api_v1(void)
{
	return &api;
}
