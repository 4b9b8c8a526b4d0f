/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging: format into a stack buffer, one write(2) per line. Never stdout,
 * never stdio buffers, never exit(): this runs inside someone else's
 * program, possibly from a signal handler or a constructor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int accel_log_level = ACCEL_LOG_WARN;

static struct {
	char path[4096];
	char tmpl[4096];    /* as given, before %d */
	int fd;             /* -1: not open (yet) */
	int file_wanted;    /* a path was given */
	int details;
	int colors;
	int pid;
	struct timespec start;
} lg = { .fd = -1 };

static const struct {
	int level;
	const char *tag;
	const char *color;
} tags[] = {
	{ ACCEL_LOG_PANIC, "PANIC", "\033[1;31m" },
	{ ACCEL_LOG_ERROR, "ERROR", "\033[31m" },
	{ ACCEL_LOG_WARN, "WARN", "\033[33m" },
	{ ACCEL_LOG_INFO, "INFO", "" },
	{ ACCEL_LOG_DETAILS, "DETAILS", "" },
	{ ACCEL_LOG_DEBUG, "DEBUG", "\033[2m" },
	{ ACCEL_LOG_FINE, "FINE", "\033[2m" },
	{ ACCEL_LOG_FINER, "FINER", "\033[2m" },
};

const char *log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i].level == level)
			return tags[i].tag;
	return "LOG";
}

static const char *level_color(int level)
{
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i].level == level)
			return tags[i].color;
	return "";
}

void log_expand_pid(char *dst, size_t size, const char *src, int pid)
{
	const char *p = strstr(src, "%d");
	if (!p) {
		snprintf(dst, size, "%s", src);
		return;
	}
	snprintf(dst, size, "%.*s%d%s", (int)(p - src), src, pid, p + 2);
}

void log_configure(const struct log_settings *s)
{
	accel_log_level = s->level;
	lg.details = s->details;
	lg.colors = s->colors;
	lg.pid = (int)getpid();
	clock_gettime(CLOCK_MONOTONIC, &lg.start);
	if (lg.fd >= 0)
		syscall(SYS_close, lg.fd);
	lg.fd = -1;
	lg.file_wanted = s->file && s->file[0];
	if (lg.file_wanted) {
		snprintf(lg.tmpl, sizeof(lg.tmpl), "%s", s->file);
		log_expand_pid(lg.path, sizeof(lg.path), s->file, lg.pid);
	}
}

void log_after_fork(void)
{
	lg.pid = (int)getpid();
	/* A "%d" log file is per process: the child opens its own. */
	if (lg.file_wanted && strstr(lg.tmpl, "%d")) {
		int fd = __atomic_exchange_n(&lg.fd, -1, __ATOMIC_ACQ_REL);
		if (fd >= 0)
			syscall(SYS_close, fd);
		log_expand_pid(lg.path, sizeof(lg.path), lg.tmpl, lg.pid);
	}
}

int log_move_fd_high(int fd)
{
	struct rlimit rl;
	long floor = 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		floor = (long)rl.rlim_cur > 64 ? (long)rl.rlim_cur - 32 : (long)rl.rlim_cur - 1;
	if (floor <= fd)
		return fd;
	long high = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);
	if (high < 0)
		return fd;
	syscall(SYS_close, fd);
	return (int)high;
}

static int output_fd(void)
{
	if (!lg.file_wanted)
		return STDERR_FILENO;
	int cur = __atomic_load_n(&lg.fd, __ATOMIC_ACQUIRE);
	if (cur >= 0)
		return cur;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, lg.path,
			      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return STDERR_FILENO;
	fd = log_move_fd_high(fd);
	/* Two threads logging their first line at once: one fd wins. */
	if (!__atomic_compare_exchange_n(&lg.fd, &cur, fd, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		syscall(SYS_close, fd);
		return cur;
	}
	return fd;
}

void log_fd_released(int fd)
{
	int cur = fd;
	if (fd >= 0)
		__atomic_compare_exchange_n(&lg.fd, &cur, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void log_fd_range_released(unsigned int first, unsigned int last)
{
	if (lg.fd >= 0 && (unsigned int)lg.fd >= first && (unsigned int)lg.fd <= last)
		lg.fd = -1;
}

static size_t put_prefix(char *buf, size_t size, const char *tag)
{
	int n;
	switch (lg.details) {
	case 0:
		n = snprintf(buf, size, "ACCEL %-7s: ", tag);
		break;
	case 1:
		n = snprintf(buf, size, "ACCEL %-7s: [tid %ld] ", tag, (long)syscall(SYS_gettid));
		break;
	case 2:
		n = snprintf(buf, size, "ACCEL %-7s: [pid %d tid %ld] ", tag, lg.pid,
			     (long)syscall(SYS_gettid));
		break;
	default: {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double ms = (double)(now.tv_sec - lg.start.tv_sec) * 1e3 +
			    (double)(now.tv_nsec - lg.start.tv_nsec) / 1e6;
		n = snprintf(buf, size, "ACCEL %-7s: [%.3f ms pid %d tid %ld] ", tag, ms, lg.pid,
			     (long)syscall(SYS_gettid));
		break;
	}
	}
	return n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
}

static void emit(const char *tag, const char *color, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;
	int fd = output_fd();
	int colored = lg.colors && *color && !lg.file_wanted && isatty(fd);
	size_t len = 0;
	if (colored)
		len = (size_t)snprintf(line, sizeof(line), "%s", color);
	len += put_prefix(line + len, sizeof(line) - len, tag);
	errno = saved; /* for %m: isatty() and the file's open may have changed it */
	int n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0) {
		size_t msg = (size_t)n < sizeof(line) - len ? (size_t)n : sizeof(line) - len - 1;
		/* One message, one line: text from users (a rule, a path) may hold
		 * newlines or escapes that would forge or garble lines. */
		for (size_t i = len; i < len + msg; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				line[i] = line[i] == '\t' ? ' ' : '?';
		len += msg;
	}
	const char *tail = colored ? "\033[0m\n" : "\n";
	size_t tl = strlen(tail);
	if (len + tl >= sizeof(line))
		len = sizeof(line) - tl - 1;
	memcpy(line + len, tail, tl + 1);
	len += tl;
	for (size_t off = 0; off < len;) {
		long w = syscall(SYS_write, fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}

void log_vwrite(int level, const char *fmt, va_list ap)
{
	emit(log_level_name(level), level_color(level), fmt, ap);
}

void log_write(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}

void log_always(const char *tag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(tag, "", fmt, ap);
	va_end(ap);
}
