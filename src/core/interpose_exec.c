/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where an offloaded socket leaves libaccel's sight: exec (the new image
 * may not run libaccel, and knows nothing of the rings if it does) and
 * SCM_RIGHTS (another process gets the fd). Before either, the engine
 * hands the connection over to a kernel socket under the same fd numbers.
 * Runs on exec and on sendmsg with control data only.
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

#include "../config/log.h"
#include "interpose.h"
#include "mux.h"

static void hand_over(struct accel_sock *s, const int *fds, int n, int in_vfork, const char *why)
{
	int rc = s->ops->handover ? s->ops->handover(s, fds, n, in_vfork) : -ENOSYS;
	if (rc < 0) {
		if (rc != -ENOSYS)
			log_warn("fd %d: could not hand the connection over to the kernel before %s: %s",
				 fds[0], why, strerror(-rc));
		return;
	}
	log_debug("fd %d: %s", fds[0], stats_reason_text(ACCEL_REASON_handover));
	if (in_vfork)
		return; /* the tables are the parent's */
	s->ctr[ACCEL_STAT_handovers]++;
	stats_sock_reason(s, ACCEL_REASON_handover);
	__atomic_store_n(&s->ops, NULL, __ATOMIC_RELEASE);
	s->engine = NULL;
	mux_count(-1);
	stats_sock_update(s, fds[0], STATS_STATE_KEEP);
}

/* Before exec: every offloaded socket whose fd survives it. */
static void before_exec(void)
{
	if (!mux_active())
		return;
	int saved = errno;
	int in_vfork = core_in_vfork_child();
	unsigned int size = fd_table_size();
	for (unsigned int fd = 0; fd < size; fd++) {
		struct accel_sock *s = fd_table_get((int)fd);
		if (!sock_offloaded(s) || !s->type)
			continue;
		int fds[64];
		int n = sock_fds(s, fds, 64);
		if (!n || fds[0] != (int)fd)
			continue; /* done at its first fd */
		int survives = 0;
		for (int i = 0; i < n; i++) {
			int fl = libc.fcntl(fds[i], F_GETFD, 0);
			if (fl >= 0 && !(fl & FD_CLOEXEC))
				survives = 1;
		}
		if (survives)
			hand_over(s, fds, n, in_vfork, "exec");
	}
	errno = saved;
}

/*
 * vfork (vfork.S, in the parent, before the child exists): a vfork child
 * execs, and shares every inheritable socket with its parent from then
 * on: only a kernel socket can be shared that way.
 */
void core_before_vfork(void);
void core_before_vfork(void)
{
	if (!core_in_vfork_child())
		before_exec();
}

/* exec: the new image publishes its own statistics (or none), under the
 * same pid; a vfork child's exec leaves the parent's alone. */
static void exec_prepare(void)
{
	before_exec();
	if (!core_in_vfork_child())
		stats_before_exec();
}

static void exec_failed(void)
{
	if (!core_in_vfork_child())
		stats_exec_failed();
}

ACCEL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	exec_prepare();
	int rc = accel_next.execve(path, argv, envp);
	exec_failed();
	return rc;
}

ACCEL_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			  int flags)
{
	exec_prepare();
	int rc = accel_next.execveat(dirfd, path, argv, envp, flags);
	exec_failed();
	return rc;
}

ACCEL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec();
	return accel_next.fexecve(fd, argv, envp);
}

ACCEL_EXPORT int execv(const char *path, char *const argv[])
{
	exec_prepare();
	int rc = accel_next.execv(path, argv);
	exec_failed();
	return rc;
}

ACCEL_EXPORT int execvp(const char *file, char *const argv[])
{
	exec_prepare();
	int rc = accel_next.execvp(file, argv);
	exec_failed();
	return rc;
}

ACCEL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	exec_prepare();
	int rc = accel_next.execvpe(file, argv, envp);
	exec_failed();
	return rc;
}

/* The execl family: argv from the variadic list, as glibc does. */
#define ARGS_MAX 4096

static int collect(const char *arg, va_list ap, char **argv)
{
	int n = 0;
	argv[n++] = (char *)arg;
	while (argv[n - 1]) {
		if (n == ARGS_MAX)
			return -1;
		argv[n++] = va_arg(ap, char *);
	}
	return n;
}

/* argv of an execl-style call into a local array, or E2BIG. */
#define COLLECT_ARGV(argv, arg, ap_last, ...)                  \
	char *argv[ARGS_MAX];                                  \
	va_list ap;                                            \
	va_start(ap, arg);                                     \
	int argc_ = collect(arg, ap, argv);                    \
	__VA_ARGS__;                                           \
	va_end(ap);                                            \
	if (argc_ < 0) {                                       \
		errno = E2BIG;                                 \
		return -1;                                     \
	}

ACCEL_EXPORT int execl(const char *path, const char *arg, ...)
{
	COLLECT_ARGV(argv, arg, ap, (void)0);
	return execv(path, argv);
}

ACCEL_EXPORT int execlp(const char *file, const char *arg, ...)
{
	COLLECT_ARGV(argv, arg, ap, (void)0);
	return execvp(file, argv);
}

ACCEL_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp = NULL;
	COLLECT_ARGV(argv, arg, ap, if (argc_ >= 0) envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}

void core_before_send_fds(const struct msghdr *msg)
{
	struct msghdr m;
	char ctl[4096];
	if (!mux_active() || core_in_vfork_child() || !msg ||
	    core_copy_in(&m, msg, sizeof(m)) < 0 || !m.msg_control || !m.msg_controllen ||
	    m.msg_controllen > sizeof(ctl) || core_copy_in(ctl, m.msg_control, m.msg_controllen) < 0)
		return;
	int saved = errno;
	m.msg_control = ctl;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			struct accel_sock *s = fd_table_get(fd);
			int fds[64];
			int n;
			if (sock_offloaded(s) && s->type && (n = sock_fds(s, fds, 64)) > 0)
				hand_over(s, fds, n, 0, "SCM_RIGHTS");
		}
	}
	errno = saved;
}
