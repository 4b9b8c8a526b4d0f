/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The launcher's subcommands that read the rules (accel_rules.c).
 */
#ifndef ACCEL_TOOLS_ACCEL_TOOLS_H
#define ACCEL_TOOLS_ACCEL_TOOLS_H

/* accel --check [FILE]: print the compiled rules; 0 valid, 1 rejected. */
int accel_check(const char *path);
/* accel --explain ROLE ADDR:PORT [ADDR:PORT] [--app NAME] [--id ID]. */
int accel_explain(const char *path, int argc, char **argv, int offloaded_sockets,
		  const char *app_id);

#endif
