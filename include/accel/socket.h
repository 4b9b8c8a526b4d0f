/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * <accel/socket.h>: per-socket options of libaccel, through the ordinary
 * getsockopt/setsockopt calls. Without libaccel loaded the kernel fails
 * them (ENOPROTOOPT or EOPNOTSUPP for level SOL_ACCEL), so a program can
 * use these unconditionally.
 */
#ifndef ACCEL_SOCKET_H
#define ACCEL_SOCKET_H

#include <sys/socket.h>

/* Option level of libaccel (no kernel protocol uses this number). */
#define SOL_ACCEL 0x0acc

/*
 * int, read and write. 1 before the socket's role is known (listen,
 * connect, bind, first sendto) keeps it on the kernel whatever the rules
 * say; 0 opts it in when ACCEL_OFFLOADED_SOCKETS=0 (accel --no-auto).
 * Changing it once the socket is offloaded fails with EPERM; once it was
 * left to the kernel, asking for 0 fails with EPERM.
 */
#define SO_ACCEL_NO_ACCEL 1

/* int, read only: 1 if a libaccel engine carries the socket, else 0. */
#define SO_ACCEL_OFFLOADED 2

/*
 * char[], read only: the name of what carries the socket, NUL-terminated:
 * "kernel", or an engine such as "shm". Truncated to the buffer like
 * SO_BINDTODEVICE; 16 bytes always suffice.
 */
#define SO_ACCEL_ENGINE 3

/* Keep fd on the kernel; call before listen/connect/bind. 0 or -1/errno. */
static inline int accel_disable_acceleration(int fd)
{
	int one = 1;
	return setsockopt(fd, SOL_ACCEL, SO_ACCEL_NO_ACCEL, &one, sizeof(one));
}

#endif
