/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Data calls: read, write, recv and send in all their forms, sendfile and the fortified
 * variants. Hot path: one fd-table lookup, then libc or the engine; no
 * locks, no allocation, no system call of our own.
 */
#include "config.h"

#include "decide.h"
#include "interpose.h"
#include "mux.h"

static __attribute__((noinline)) ssize_t offload_read(struct accel_sock *s, int fd, void *buf, size_t n)
{
	struct iovec iov = { buf, n };
	OFFLOAD_RETURN(ssize_t, read, sock_recv_iov(s, &iov, 1, 0, NULL, NULL), fd, buf, n);
}

ACCEL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.read(fd, buf, n);
	return offload_read(s, fd, buf, n);
}

static __attribute__((noinline)) ssize_t offload___read_chk(struct accel_sock *s, int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		libc.chk_fail();
	struct iovec iov = { buf, n };
	OFFLOAD_RETURN(ssize_t, __read_chk, sock_recv_iov(s, &iov, 1, 0, NULL, NULL), fd, buf, n, buflen);
}

ACCEL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.__read_chk(fd, buf, n, buflen);
	return offload___read_chk(s, fd, buf, n, buflen);
}

static __attribute__((noinline)) ssize_t offload_readv(struct accel_sock *s, int fd, const struct iovec *iov, int cnt)
{
	OFFLOAD_RETURN(ssize_t, readv, sock_recv_iov(s, iov, cnt, 0, NULL, NULL), fd, iov, cnt);
}

ACCEL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.readv(fd, iov, cnt);
	return offload_readv(s, fd, iov, cnt);
}

static __attribute__((noinline)) ssize_t offload_write(struct accel_sock *s, int fd, const void *buf, size_t n)
{
	struct iovec iov = { (void *)buf, n };
	OFFLOAD_RETURN(ssize_t, write, sock_send_iov(s, &iov, 1, 0, NULL, 0), fd, buf, n);
}

ACCEL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.write(fd, buf, n);
	return offload_write(s, fd, buf, n);
}

static __attribute__((noinline)) ssize_t offload_writev(struct accel_sock *s, int fd, const struct iovec *iov, int cnt)
{
	OFFLOAD_RETURN(ssize_t, writev, sock_send_iov(s, iov, cnt, 0, NULL, 0), fd, iov, cnt);
}

ACCEL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.writev(fd, iov, cnt);
	return offload_writev(s, fd, iov, cnt);
}

static __attribute__((noinline)) ssize_t offload_recv(struct accel_sock *s, int fd, void *buf, size_t n, int flags)
{
	struct iovec iov = { buf, n };
	OFFLOAD_RETURN(ssize_t, recv, sock_recv_iov(s, &iov, 1, flags, NULL, NULL), fd, buf, n, flags);
}

ACCEL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.recv(fd, buf, n, flags);
	return offload_recv(s, fd, buf, n, flags);
}

static __attribute__((noinline)) ssize_t offload___recv_chk(struct accel_sock *s, int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		libc.chk_fail();
	struct iovec iov = { buf, n };
	OFFLOAD_RETURN(ssize_t, __recv_chk, sock_recv_iov(s, &iov, 1, flags, NULL, NULL), fd, buf, n, buflen, flags);
}

ACCEL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.__recv_chk(fd, buf, n, buflen, flags);
	return offload___recv_chk(s, fd, buf, n, buflen, flags);
}

static __attribute__((noinline)) ssize_t offload_recvfrom(struct accel_sock *s, int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
	struct iovec iov = { buf, n };
	OFFLOAD_RETURN(ssize_t, recvfrom, sock_recv_iov(s, &iov, 1, flags, addr, len), fd, buf, n, flags, addr, len);
}

ACCEL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
			      socklen_t *len)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.recvfrom(fd, buf, n, flags, addr, len);
	return offload_recvfrom(s, fd, buf, n, flags, addr, len);
}

static __attribute__((noinline)) ssize_t offload___recvfrom_chk(struct accel_sock *s, int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr, socklen_t *len)
{
	if (n > buflen)
		libc.chk_fail();
	struct iovec iov = { buf, n };
	OFFLOAD_RETURN(ssize_t, __recvfrom_chk, sock_recv_iov(s, &iov, 1, flags, addr, len), fd, buf, n, buflen, flags, addr, len);
}

ACCEL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				    struct sockaddr *addr, socklen_t *len)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.__recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
	return offload___recvfrom_chk(s, fd, buf, n, buflen, flags, addr, len);
}

static __attribute__((noinline)) ssize_t offload_recvmsg(struct accel_sock *s, int fd, struct msghdr *msg, int flags)
{
	OFFLOAD_RETURN(ssize_t, recvmsg, sock_recvmsg(s, msg, flags), fd, msg, flags);
}

ACCEL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.recvmsg(fd, msg, flags);
	return offload_recvmsg(s, fd, msg, flags);
}

static __attribute__((noinline)) int offload_recvmmsg(struct accel_sock *s, int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *tmo)
{
	OFFLOAD_RETURN(int, recvmmsg, sock_recvmmsg(s, vec, vlen, flags, tmo), fd, vec, vlen, flags, tmo);
}

ACCEL_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
			  struct timespec *tmo)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.recvmmsg(fd, vec, vlen, flags, tmo);
	return offload_recvmmsg(s, fd, vec, vlen, flags, tmo);
}

static __attribute__((noinline)) ssize_t offload_send(struct accel_sock *s, int fd, const void *buf, size_t n, int flags)
{
	struct iovec iov = { (void *)buf, n };
	OFFLOAD_RETURN(ssize_t, send, sock_send_iov(s, &iov, 1, flags, NULL, 0), fd, buf, n, flags);
}

ACCEL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.send(fd, buf, n, flags);
	return offload_send(s, fd, buf, n, flags);
}

/* The first datagram sent to an address decides an unbound UDP socket. */
static void decide_sender(struct accel_sock *s, int fd, const struct sockaddr *addr,
			  socklen_t len)
{
	struct sockaddr_storage ss;
	if (s->type == SOCK_DGRAM && decide_copy_addr(&ss, addr, len) == 0)
		decide_socket(s, fd, ROLE_UDP_SENDER, NULL, (struct sockaddr *)&ss);
}

static inline void decide_on_send(struct accel_sock *s, int fd, const struct sockaddr *addr,
				  socklen_t len)
{
	if (unlikely(s && !s->decided) && addr)
		decide_sender(s, fd, addr, len);
}

/* The same from a msghdr the program passed: read it safely first. */
static void decide_on_sendmsg(struct accel_sock *s, int fd, const struct msghdr *msg)
{
	struct msghdr m;
	if (likely(!s || s->decided) || !msg || core_copy_in(&m, msg, sizeof(m)) < 0)
		return;
	if (m.msg_name)
		decide_sender(s, fd, m.msg_name, m.msg_namelen);
}

static __attribute__((noinline)) ssize_t offload_sendto(struct accel_sock *s, int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
	struct iovec iov = { (void *)buf, n };
	OFFLOAD_RETURN(ssize_t, sendto, sock_send_iov(s, &iov, 1, flags, addr, len), fd, buf, n, flags, addr, len);
}

ACCEL_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			    const struct sockaddr *addr, socklen_t len)
{
	struct accel_sock *s = fd_table_get(fd);
	decide_on_send(s, fd, addr, len);
	if (likely(!sock_offloaded(s)))
		return accel_next.sendto(fd, buf, n, flags, addr, len);
	return offload_sendto(s, fd, buf, n, flags, addr, len);
}

static __attribute__((noinline)) ssize_t offload_sendmsg(struct accel_sock *s, int fd, const struct msghdr *msg, int flags)
{
	OFFLOAD_RETURN(ssize_t, sendmsg, sock_sendmsg(s, msg, flags), fd, msg, flags);
}

ACCEL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct accel_sock *s = fd_table_get(fd);
	decide_on_sendmsg(s, fd, msg);
	if (unlikely(!s && mux_active()))
		core_before_send_fds(msg); /* SCM_RIGHTS over a unix socket */
	if (likely(!sock_offloaded(s)))
		return accel_next.sendmsg(fd, msg, flags);
	return offload_sendmsg(s, fd, msg, flags);
}

static __attribute__((noinline)) int offload_sendmmsg(struct accel_sock *s, int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	OFFLOAD_RETURN(int, sendmmsg, sock_sendmmsg(s, vec, vlen, flags), fd, vec, vlen, flags);
}

ACCEL_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct accel_sock *s = fd_table_get(fd);
	if (vlen)
		decide_on_sendmsg(s, fd, vec ? &vec[0].msg_hdr : NULL);
	if (likely(!sock_offloaded(s)))
		return accel_next.sendmmsg(fd, vec, vlen, flags);
	return offload_sendmmsg(s, fd, vec, vlen, flags);
}

static __attribute__((noinline)) ssize_t offload_sendfile(struct accel_sock *s, int out_fd, int in_fd, off_t *off, size_t n)
{
	OFFLOAD_RETURN(ssize_t, sendfile, sock_sendfile(s, in_fd, off, n), out_fd, in_fd, off, n);
}

ACCEL_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t n)
{
	struct accel_sock *s = fd_table_get(out_fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.sendfile(out_fd, in_fd, off, n);
	return offload_sendfile(s, out_fd, in_fd, off, n);
}

static __attribute__((noinline)) ssize_t offload_sendfile64(struct accel_sock *s, int out_fd, int in_fd, off64_t *off, size_t n)
{
	OFFLOAD_RETURN(ssize_t, sendfile64, sock_sendfile(s, in_fd, (off_t *)off, n), out_fd, in_fd, off, n);
}

ACCEL_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *off, size_t n)
{
	struct accel_sock *s = fd_table_get(out_fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.sendfile64(out_fd, in_fd, off, n);
	return offload_sendfile64(s, out_fd, in_fd, off, n);
}
