/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks on the files that steer libaccel (rules file, profiles).
 */
#ifndef ACCEL_CONFIG_FILES_H
#define ACCEL_CONFIG_FILES_H

/*
 * Warn (naming `what` and path) when users other than the file's owner and
 * root may write it, or it belongs to neither root nor this user: such a
 * file still applies, but whoever can write it steers the program.
 * Returns 1 if it warned.
 */
int config_check_owner(const char *path, const char *what);

/* The built-in rules: the text of etc/libaccel.conf (generated at build). */
extern const char config_default_rules[];

#endif
