/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ownership and mode checks of configuration files.
 */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "log.h"

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
