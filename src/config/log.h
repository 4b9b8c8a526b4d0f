/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libaccel's only output channel. Lines go to stderr or ACCEL_LOG_FILE
 * through write(2) directly, never through stdio or the interposed
 * symbols, so logging cannot recurse, buffer behind the program's back or
 * touch its stdout.
 */
#ifndef ACCEL_CONFIG_LOG_H
#define ACCEL_CONFIG_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Internal scale: user numbers 0..6 are these divided by 10. */
enum accel_loglevel {
	ACCEL_LOG_PANIC = 0,
	ACCEL_LOG_ERROR = 10,
	ACCEL_LOG_WARN = 20,
	ACCEL_LOG_INFO = 30,
	ACCEL_LOG_DETAILS = 35,
	ACCEL_LOG_DEBUG = 40,
	ACCEL_LOG_FINE = 50,
	ACCEL_LOG_FINER = 60,
};

struct log_settings {
	int level;          /* enum accel_loglevel */
	const char *file;   /* "" or NULL: stderr; "%d" is replaced by the pid */
	int details;        /* 0 plain, 1 +tid, 2 +pid, 3 +time */
	int colors;         /* wanted; used only when the output is a terminal */
};

extern int accel_log_level;

#define accel_log(lvl, ...)                                  \
	do {                                                 \
		if ((lvl) <= accel_log_level)                \
			log_write((lvl), __VA_ARGS__);       \
	} while (0)
#define log_error(...) accel_log(ACCEL_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) accel_log(ACCEL_LOG_WARN, __VA_ARGS__)
#define log_info(...) accel_log(ACCEL_LOG_INFO, __VA_ARGS__)
#define log_details(...) accel_log(ACCEL_LOG_DETAILS, __VA_ARGS__)
#define log_debug(...) accel_log(ACCEL_LOG_DEBUG, __VA_ARGS__)
#define log_fine(...) accel_log(ACCEL_LOG_FINE, __VA_ARGS__)

/* Apply settings; the log file is opened at the first line written. */
void log_configure(const struct log_settings *s);
/* Write one line at `level` (the caller has checked the level). */
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vwrite(int level, const char *fmt, va_list ap);
/* Write one line whatever the level (used by --trace). */
void log_always(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The program closed or replaced `fd`: if it was the log file, stop using it. */
void log_fd_released(int fd);
void log_fd_range_released(unsigned int first, unsigned int last);
/* A file name template: its first "%d" becomes pid (ACCEL_LOG_FILE,
 * ACCEL_STATS_FILE). */
void log_expand_pid(char *dst, size_t size, const char *src, int pid);
/*
 * Move fd (close-on-exec) near the top of the descriptor limit, out of the
 * low numbers programs expect to own and pick for dup2; returns the new
 * number, or fd when it cannot.
 */
int log_move_fd_high(int fd);
/* The process forked: refresh the cached pid. */
void log_after_fork(void);
/* Name of a level ("warn"), for messages. */
const char *log_level_name(int level);

#endif
