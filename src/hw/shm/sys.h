/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The system calls the shm engine makes, as raw system calls. Inside
 * libaccel the libc names (send, recv, poll, close ...) are libaccel's own
 * wrappers, and the engine's fd is the program's fd: calling them would
 * come back into the engine. Each returns what libc would: -1 and errno.
 */
#ifndef ACCEL_HW_SHM_SYS_H
#define ACCEL_HW_SHM_SYS_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* A socket timeout in whole milliseconds, rounded up (0: none), as an int. */
static inline int shm_timeout_ms(const struct timeval *tv)
{
	long ms = tv->tv_sec * 1000L + (tv->tv_usec + 999) / 1000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static inline ssize_t shm_sys_send(int fd, const void *buf, size_t n, int flags)
{
	return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

static inline ssize_t shm_sys_recv(int fd, void *buf, size_t n, int flags)
{
	return syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}

static inline ssize_t shm_sys_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return syscall(SYS_sendmsg, fd, msg, flags);
}

static inline ssize_t shm_sys_recvmsg(int fd, struct msghdr *msg, int flags)
{
	return syscall(SYS_recvmsg, fd, msg, flags);
}

/* poll with a millisecond timeout (-1: none), like poll(2). */
static inline int shm_sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	return (int)syscall(SYS_ppoll, fds, n, timeout_ms < 0 ? NULL : &ts, NULL, (size_t)8);
}

static inline int shm_sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static inline int shm_sys_socket(int domain, int type, int protocol)
{
	return (int)syscall(SYS_socket, domain, type, protocol);
}

static inline int shm_sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, addr, len);
}

static inline int shm_sys_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)syscall(SYS_bind, fd, addr, len);
}

static inline int shm_sys_listen(int fd, int backlog)
{
	return (int)syscall(SYS_listen, fd, backlog);
}

static inline int shm_sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return (int)syscall(SYS_accept4, fd, addr, len, flags);
}

static inline int shm_sys_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return (int)syscall(SYS_getsockname, fd, addr, len);
}

static inline int shm_sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

static inline int shm_sys_setsockopt(int fd, int level, int name, const void *val,
				     socklen_t len)
{
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

static inline int shm_sys_dup3(int fd, int fd2, int flags)
{
	return (int)syscall(SYS_dup3, fd, fd2, flags);
}

static inline int shm_sys_fcntl(int fd, int cmd, long arg)
{
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

#endif
