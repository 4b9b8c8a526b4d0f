/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Calls that change which file an fd number names: close, close_range,
 * closefrom, dup, dup2, dup3, fcntl(F_DUPFD*). The fd table follows the
 * kernel's fd table. A vfork child, which shares our memory but not our
 * fds, changes nothing here.
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <linux/close_range.h>

#include "../config/log.h"
#include "interpose.h"

/*
 * The entry is marked before the kernel's close and goes after it: a dup
 * racing the close still finds the object while the fd exists, and a dup
 * or socket() that reuses the number right after keeps its own entry.
 */
ACCEL_EXPORT int close(int fd)
{
	if (unlikely(core_in_vfork_child()))
		return accel_next.close(fd);
	log_fd_released(fd);
	sock_fd_leaving(fd);
	struct accel_sock *s = sock_close_begin(fd);
	if (s && s->ops && s->ops->closing && __atomic_load_n(&s->refs, __ATOMIC_ACQUIRE) == 1)
		s->ops->closing(s, fd);
	int rc = accel_next.close(fd);
	if (s) {
		int saved = errno;
		sock_close_end(fd, s);
		errno = saved;
	}
	return rc;
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
	if (!core_in_vfork_child()) {
		/* glibc closes from 0 when lowfd is negative */
		unsigned int low = lowfd < 0 ? 0 : (unsigned int)lowfd;
		log_fd_range_released(low, ~0u);
		sock_forget_range(low, ~0u);
	}
	accel_next.closefrom(lowfd);
}

/*
 * The dup family: the reference on the old fd's object is taken before the
 * kernel call, so a close of the old fd by another thread meanwhile cannot
 * free it; it goes to the new fd if the call succeeds.
 */
static struct accel_sock *ref_before_dup(int fd)
{
	return core_in_vfork_child() ? NULL : sock_ref(fd);
}

static int after_dup(int newfd, struct accel_sock *s, int track)
{
	if (newfd >= 0 && track)
		sock_install(newfd, s);
	else
		sock_unref(s);
	return newfd;
}

ACCEL_EXPORT int dup(int fd)
{
	struct accel_sock *s = ref_before_dup(fd);
	int nfd = accel_next.dup(fd);
	return after_dup(nfd, s, !core_in_vfork_child());
}

static int dup_onto(int fd, int fd2, struct accel_sock *s, int rc)
{
	int track = rc >= 0 && fd != fd2 && !core_in_vfork_child();
	if (track)
		log_fd_released(fd2);
	return after_dup(rc, s, track);
}

ACCEL_EXPORT int dup2(int fd, int fd2)
{
	if (fd != fd2 && !core_in_vfork_child())
		sock_fd_leaving(fd2);
	struct accel_sock *s = ref_before_dup(fd);
	return dup_onto(fd, fd2, s, accel_next.dup2(fd, fd2));
}

ACCEL_EXPORT int dup3(int fd, int fd2, int flags)
{
	if (fd != fd2 && !core_in_vfork_child())
		sock_fd_leaving(fd2);
	struct accel_sock *s = ref_before_dup(fd);
	return dup_onto(fd, fd2, s, accel_next.dup3(fd, fd2, flags));
}

/* O_NONBLOCK lives in the kernel's file; an engine keeps a copy. */
static void nonblock_changed(int fd, long flags)
{
	struct accel_sock *s = fd_table_get(fd);
	if (sock_offloaded(s) && s->ops->set_nonblock && !core_in_vfork_child())
		s->ops->set_nonblock(s, (flags & O_NONBLOCK) != 0);
}

static int is_dupfd(int cmd)
{
	return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
}

/* See ioctl() for why the third argument travels as a pointer. */
ACCEL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!is_dupfd(cmd)) {
		int rc = accel_next.fcntl(fd, cmd, arg);
		if (unlikely(cmd == F_SETFL) && rc == 0)
			nonblock_changed(fd, (long)arg);
		return rc;
	}
	struct accel_sock *s = ref_before_dup(fd);
	return after_dup(accel_next.fcntl(fd, cmd, arg), s, !core_in_vfork_child());
}

ACCEL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!is_dupfd(cmd)) {
		int rc = accel_next.fcntl64(fd, cmd, arg);
		if (unlikely(cmd == F_SETFL) && rc == 0)
			nonblock_changed(fd, (long)arg);
		return rc;
	}
	struct accel_sock *s = ref_before_dup(fd);
	return after_dup(accel_next.fcntl64(fd, cmd, arg), s, !core_in_vfork_child());
}
