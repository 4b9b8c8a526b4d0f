/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The engines core offers a socket to, in order. Adding an engine adds a
 * line here and a directory under src/hw or src/net, never an `if` in core.
 */
#include "config.h"

#include <stddef.h>

#include "../hw/shm/shm.h"
#include "engine.h"

const struct engine *const core_engines[] = {
	&shm_engine,
	NULL,
};
