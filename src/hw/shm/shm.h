/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The same-host engine as core sees it: one struct engine. TCP between two
 * libaccel processes of one host (and network namespace) over shared-memory
 * rings, found through a rendezvous next to the kernel listener.
 */
#ifndef ACCEL_HW_SHM_SHM_H
#define ACCEL_HW_SHM_SHM_H

#include "../../core/engine.h"

extern const struct engine shm_engine;

#endif
