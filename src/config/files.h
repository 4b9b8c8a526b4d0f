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

struct rules_set;
struct rules_error;
/*
 * The rules libaccel uses for path: the file (its owner checked), or the
 * built-in rules, named "built-in default", when it does not exist
 * (*builtin = 1). 0, or -errno with *err filled as rules_parse_file does.
 */
int config_read_rules(const char *path, struct rules_set **set, struct rules_error *err,
		      int *builtin);

#endif
