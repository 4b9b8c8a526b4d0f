/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Process helpers shared by the unit tests (include after cmocka.h).
 */
#ifndef ACCEL_TESTS_UNIT_PROC_UTIL_H
#define ACCEL_TESTS_UNIT_PROC_UTIL_H

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The pid of a child that has exited and been reaped: a process that is
 * gone (until the kernel hands the number out again). */
static inline pid_t reaped_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

#endif
