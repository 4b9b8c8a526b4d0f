/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Calls that change which file an fd number names: close, close_range,
 * closefrom, dup, dup2, dup3, fcntl(F_DUPFD*). The fd table follows the
 * kernel's fd table; an entry is dropped before the kernel can hand the
 * number out again. A vfork child, which shares our memory but not our
 * fds, changes nothing here.
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <linux/close_range.h>

#include "../config/log.h"
#include "interpose.h"

ACCEL_EXPORT int close(int fd)
{
	if (likely(!core_in_vfork_child())) {
		log_fd_released(fd);
		if (fd_table_get(fd))
			sock_forget(fd);
	}
	return accel_next.close(fd);
}

ACCEL_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	/* Forget first, as close() does; only bad arguments make the call fail. */
	if (first <= last && !(flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) &&
	    !(flags & CLOSE_RANGE_CLOEXEC) && !core_in_vfork_child()) {
		log_fd_range_released(first, last);
		sock_forget_range(first, last);
	}
	return accel_next.close_range(first, last, flags);
}

ACCEL_EXPORT void closefrom(int lowfd)
{
	if (lowfd >= 0 && !core_in_vfork_child()) {
		log_fd_range_released((unsigned int)lowfd, ~0u);
		sock_forget_range((unsigned int)lowfd, ~0u);
	}
	accel_next.closefrom(lowfd);
}

ACCEL_EXPORT int dup(int fd)
{
	int nfd = accel_next.dup(fd);
	if (nfd >= 0 && !core_in_vfork_child())
		sock_dup(fd, nfd);
	return nfd;
}

static int dup_onto(int fd, int fd2, int rc)
{
	if (rc >= 0 && fd != fd2 && !core_in_vfork_child()) {
		log_fd_released(fd2);
		sock_dup(fd, fd2);
	}
	return rc;
}

ACCEL_EXPORT int dup2(int fd, int fd2)
{
	return dup_onto(fd, fd2, accel_next.dup2(fd, fd2));
}

ACCEL_EXPORT int dup3(int fd, int fd2, int flags)
{
	return dup_onto(fd, fd2, accel_next.dup3(fd, fd2, flags));
}

static int after_fcntl(int fd, int cmd, int rc)
{
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && !core_in_vfork_child())
		sock_dup(fd, rc);
	return rc;
}

/* See ioctl() for why the third argument travels as a pointer. */
ACCEL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return after_fcntl(fd, cmd, accel_next.fcntl(fd, cmd, arg));
}

ACCEL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return after_fcntl(fd, cmd, accel_next.fcntl64(fd, cmd, arg));
}
