/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading the rules file (or the built-in rules), and ownership and mode
 * checks of configuration files.
 */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>
#include <string.h>

#include "files.h"
#include "rules.h"
#include "log.h"

int config_read_rules(const char *path, struct rules_set **set, struct rules_error *err,
		      int *builtin)
{
	*builtin = access(path, F_OK) != 0 && errno == ENOENT;
	if (*builtin)
		return rules_parse_string(config_default_rules, strlen(config_default_rules),
					  "built-in default", set, err);
	config_check_owner(path, "rules file");
	return rules_parse_file(path, set, err);
}

int config_check_owner(const char *path, const char *what)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	int foreign_owner = st.st_uid != 0 && st.st_uid != geteuid();
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)) && !foreign_owner)
		return 0;
	log_warn("%s %s may be written by users other than root%s (mode %04o, owner uid %u): "
		 "used, but whoever can write it steers this program's sockets",
		 what, path, foreign_owner ? "" : " and its owner",
		 (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid);
	return 1;
}
