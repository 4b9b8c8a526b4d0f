/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * State of libaccel inside one process, shared by the core modules.
 */
#ifndef ACCEL_CORE_CORE_H
#define ACCEL_CORE_CORE_H

#include "../config/params.h"

/* The values in force for this process (defaults < profile < environment). */
extern struct accel_params accel_params;
/* Set once the parameters are read (start-up ran). */
extern int accel_params_loaded;

#endif
