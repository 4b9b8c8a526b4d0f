/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the logger (src/config/log.c): level filtering, line
 * prefixes, the log file (pid in the name, appending, release by the
 * program), colours only on terminals, errno and very long messages.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/log.h"

#define TEXT_MAX 65536

struct fixture {
	char dir[64];
	char cap[128];	/* where fd 2 goes while captured */
	int saved_stderr; /* -1: not captured */
	char text[TEXT_MAX];
};

static void configure(int level, const char *file, int details, int colors)
{
	struct log_settings s = { .level = level, .file = file, .details = details, .colors = colors };
	log_configure(&s);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/accel-log-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->cap, sizeof(f->cap), "%s/stderr", f->dir);
	f->saved_stderr = -1;
	configure(ACCEL_LOG_WARN, "", 0, 1);
	*state = f;
	return 0;
}

static void restore_stderr(struct fixture *f)
{
	if (f->saved_stderr < 0)
		return;
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	f->saved_stderr = -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	restore_stderr(f); /* a failed assertion may have left fd 2 captured */
	configure(ACCEL_LOG_WARN, "", 0, 0); /* closes any log file */
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *e;
		char path[512];
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Whole contents of a file into f->text ("" if it does not exist). */
static const char *file_text(struct fixture *f, const char *path)
{
	f->text[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return f->text;
	size_t used = 0;
	ssize_t n;
	while (used + 1 < sizeof(f->text) &&
	       (n = read(fd, f->text + used, sizeof(f->text) - 1 - used)) > 0)
		used += (size_t)n;
	f->text[used] = '\0';
	close(fd);
	return f->text;
}

static void capture_begin(struct fixture *f)
{
	assert_int_equal(f->saved_stderr, -1);
	int fd = open(f->cap, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	f->saved_stderr = dup(STDERR_FILENO);
	assert_true(f->saved_stderr >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* Stop capturing; returns what was written to fd 2 meanwhile. */
static const char *capture_end(struct fixture *f)
{
	restore_stderr(f);
	return file_text(f, f->cap);
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void path_in(struct fixture *f, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", f->dir, name);
}

/* The fds of this process open on `path`: how many, and the last one in *fd. */
static int fds_on(const char *path, int *fd)
{
	char real[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	if (!realpath(path, real))
		return 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, real) == 0) {
			count++;
			if (fd)
				*fd = atoi(e->d_name);
		}
	}
	closedir(d);
	return count;
}

/* The fd the logger holds on `path`; fails the test if there is not exactly one. */
static int logger_fd(const char *path)
{
	int fd = -1;
	assert_int_equal(fds_on(path, &fd), 1);
	assert_true(fd > STDERR_FILENO);
	return fd;
}

static void assert_matches(const char *text, const char *pattern, regmatch_t *m, size_t nm)
{
	regex_t re;
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | (m ? 0 : REG_NOSUB)), 0);
	int rc = regexec(&re, text, m ? nm : 0, m, 0);
	regfree(&re);
	if (rc != 0)
		fail_msg("'%s' does not match /%s/", text, pattern);
}

static long match_long(const char *text, const regmatch_t *m)
{
	return strtol(text + m->rm_so, NULL, 10);
}

/* ---- levels ---- */

static void test_level_filtering(void **state)
{
	struct fixture *f = *state;
	configure(ACCEL_LOG_WARN, "", 0, 0);
	assert_int_equal(accel_log_level, ACCEL_LOG_WARN);
	capture_begin(f);
	log_error("e1");
	log_warn("w1");
	log_info("i1");
	log_details("x1");
	log_debug("d1");
	log_fine("f1");
	const char *text = capture_end(f);
	assert_string_equal(text, "ACCEL ERROR  : e1\nACCEL WARN   : w1\n");

	configure(ACCEL_LOG_INFO, "", 0, 0);
	capture_begin(f);
	log_info("i2");
	log_details("x2");
	text = capture_end(f);
	assert_string_equal(text, "ACCEL INFO   : i2\n");

	configure(ACCEL_LOG_FINER, "", 0, 0);
	capture_begin(f);
	log_error("e3");
	log_warn("w3");
	log_info("i3");
	log_details("x3");
	log_debug("d3");
	log_fine("f3");
	accel_log(ACCEL_LOG_FINER, "r3");
	text = capture_end(f);
	assert_int_equal(count_lines(text), 7);
	assert_non_null(strstr(text, "ACCEL DETAILS: x3\n"));
	assert_non_null(strstr(text, "ACCEL FINER  : r3\n"));

	configure(ACCEL_LOG_PANIC, "", 0, 0);
	capture_begin(f);
	log_error("e4");
	accel_log(ACCEL_LOG_PANIC, "p4");
	text = capture_end(f);
	assert_string_equal(text, "ACCEL PANIC  : p4\n");
}

static void test_level_names(void **state)
{
	(void)state;
	assert_string_equal(log_level_name(ACCEL_LOG_PANIC), "PANIC");
	assert_string_equal(log_level_name(ACCEL_LOG_ERROR), "ERROR");
	assert_string_equal(log_level_name(ACCEL_LOG_WARN), "WARN");
	assert_string_equal(log_level_name(ACCEL_LOG_INFO), "INFO");
	assert_string_equal(log_level_name(ACCEL_LOG_DETAILS), "DETAILS");
	assert_string_equal(log_level_name(ACCEL_LOG_DEBUG), "DEBUG");
	assert_string_equal(log_level_name(ACCEL_LOG_FINE), "FINE");
	assert_string_equal(log_level_name(ACCEL_LOG_FINER), "FINER");
	assert_string_equal(log_level_name(7), "LOG");
}

static void test_log_always(void **state)
{
	struct fixture *f = *state;
	configure(ACCEL_LOG_PANIC, "", 0, 1);
	capture_begin(f);
	log_warn("not this");
	log_always("TRACE", "connect(%d) = %d", 3, 0);
	const char *text = capture_end(f);
	assert_string_equal(text, "ACCEL TRACE  : connect(3) = 0\n");
}

/* ---- prefixes ---- */

static void test_prefix_details(void **state)
{
	struct fixture *f = *state;
	regmatch_t m[4];
	long pid = (long)getpid(), tid = (long)syscall(SYS_gettid);

	configure(ACCEL_LOG_WARN, "", 0, 0);
	capture_begin(f);
	log_warn("hello %s", "there");
	assert_string_equal(capture_end(f), "ACCEL WARN   : hello there\n");

	configure(ACCEL_LOG_WARN, "", 1, 0);
	capture_begin(f);
	log_warn("hello");
	const char *text = capture_end(f);
	assert_matches(text, "^ACCEL WARN   : \\[tid ([0-9]+)\\] hello\n$", m, 2);
	assert_int_equal(match_long(text, &m[1]), tid);

	configure(ACCEL_LOG_WARN, "", 2, 0);
	capture_begin(f);
	log_warn("hello");
	text = capture_end(f);
	assert_matches(text, "^ACCEL WARN   : \\[pid ([0-9]+) tid ([0-9]+)\\] hello\n$", m, 3);
	assert_int_equal(match_long(text, &m[1]), pid);
	assert_int_equal(match_long(text, &m[2]), tid);

	configure(ACCEL_LOG_WARN, "", 3, 0);
	capture_begin(f);
	log_warn("hello");
	text = capture_end(f);
	assert_matches(text,
		       "^ACCEL WARN   : \\[[0-9]+\\.[0-9]{3} ms pid ([0-9]+) tid ([0-9]+)\\] hello\n$",
		       m, 3);
	assert_int_equal(match_long(text, &m[1]), pid);
	assert_int_equal(match_long(text, &m[2]), tid);
}

struct thread_line {
	long tid;
};

static void *log_from_thread(void *arg)
{
	struct thread_line *t = arg;
	t->tid = (long)syscall(SYS_gettid);
	log_warn("from a thread");
	return NULL;
}

static void test_prefix_tid_is_callers(void **state)
{
	struct fixture *f = *state;
	regmatch_t m[3];
	struct thread_line t = { 0 };
	pthread_t th;

	configure(ACCEL_LOG_WARN, "", 2, 0);
	capture_begin(f);
	assert_int_equal(pthread_create(&th, NULL, log_from_thread, &t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	const char *text = capture_end(f);
	assert_matches(text, "^ACCEL WARN   : \\[pid ([0-9]+) tid ([0-9]+)\\] from a thread\n$", m,
		       3);
	assert_int_equal(match_long(text, &m[1]), (long)getpid());
	assert_int_equal(match_long(text, &m[2]), t.tid);
	assert_int_not_equal(t.tid, (long)getpid());
}

static void test_after_fork(void **state)
{
	struct fixture *f = *state;
	char path[256];
	regmatch_t m[3];
	path_in(f, "fork.log", path, sizeof(path));
	configure(ACCEL_LOG_WARN, path, 2, 0);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		log_after_fork();
		log_warn("child");
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	const char *text = file_text(f, path);
	assert_matches(text, "^ACCEL WARN   : \\[pid ([0-9]+) tid ([0-9]+)\\] child\n$", m, 3);
	assert_int_equal(match_long(text, &m[1]), (long)child);
}

/* ---- the log file ---- */

static void test_file_pid_in_name(void **state)
{
	struct fixture *f = *state;
	char pattern[256], expected[256];
	path_in(f, "app.%d.log", pattern, sizeof(pattern));
	snprintf(expected, sizeof(expected), "%s/app.%d.log", f->dir, (int)getpid());

	configure(ACCEL_LOG_WARN, pattern, 0, 0);
	capture_begin(f);
	log_warn("to the file");
	assert_string_equal(capture_end(f), "");
	assert_string_equal(file_text(f, expected), "ACCEL WARN   : to the file\n");
	assert_int_equal(access(pattern, F_OK), -1);

	/* Only the first "%d" is replaced. */
	path_in(f, "two.%d.%d", pattern, sizeof(pattern));
	snprintf(expected, sizeof(expected), "%s/two.%d.%%d", f->dir, (int)getpid());
	configure(ACCEL_LOG_WARN, pattern, 0, 0);
	log_warn("second");
	assert_string_equal(file_text(f, expected), "ACCEL WARN   : second\n");
}

static void test_file_appended_and_lazy(void **state)
{
	struct fixture *f = *state;
	char path[256];
	path_in(f, "append.log", path, sizeof(path));

	/* Opened at the first line, not at configuration. */
	configure(ACCEL_LOG_WARN, path, 0, 0);
	assert_int_equal(access(path, F_OK), -1);
	log_info("below the level: no file either");
	assert_int_equal(access(path, F_OK), -1);

	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("earlier line\n", fp);
	fclose(fp);

	log_warn("one");
	log_error("two");
	assert_string_equal(file_text(f, path),
			    "earlier line\nACCEL WARN   : one\nACCEL ERROR  : two\n");

	/* Configuring again closes and reopens, still appending. */
	configure(ACCEL_LOG_WARN, path, 0, 0);
	assert_int_equal(fds_on(path, NULL), 0);
	log_warn("three");
	assert_string_equal(file_text(f, path),
			    "earlier line\nACCEL WARN   : one\nACCEL ERROR  : two\nACCEL WARN   : three\n");
}

static void test_file_mode_and_fd(void **state)
{
	struct fixture *f = *state;
	char path[256];
	struct stat st;
	path_in(f, "mode.log", path, sizeof(path));
	mode_t old = umask(022);
	configure(ACCEL_LOG_WARN, path, 0, 0);
	log_warn("x");
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	int fd = logger_fd(path);
	/* Close-on-exec, and out of the way of the program's next fd. */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	int next = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(next >= 0);
	assert_true(next < fd);
	close(next);
}

static void test_file_switch(void **state)
{
	struct fixture *f = *state;
	char a[256], b[256];
	path_in(f, "a.log", a, sizeof(a));
	path_in(f, "b.log", b, sizeof(b));

	configure(ACCEL_LOG_WARN, a, 0, 0);
	log_warn("to a");
	assert_int_equal(fds_on(a, NULL), 1);
	configure(ACCEL_LOG_WARN, b, 0, 0);
	assert_int_equal(fds_on(a, NULL), 0);
	log_warn("to b");
	configure(ACCEL_LOG_WARN, "", 0, 0);
	assert_int_equal(fds_on(b, NULL), 0);
	capture_begin(f);
	log_warn("to stderr");
	assert_string_equal(capture_end(f), "ACCEL WARN   : to stderr\n");
	assert_string_equal(file_text(f, a), "ACCEL WARN   : to a\n");
	assert_string_equal(file_text(f, b), "ACCEL WARN   : to b\n");

	/* NULL means stderr too. */
	configure(ACCEL_LOG_WARN, NULL, 0, 0);
	capture_begin(f);
	log_warn("null");
	assert_string_equal(capture_end(f), "ACCEL WARN   : null\n");
}

static void test_file_unopenable_falls_back(void **state)
{
	struct fixture *f = *state;
	char path[256];
	path_in(f, "missing-dir/x.log", path, sizeof(path));
	configure(ACCEL_LOG_WARN, path, 0, 0);
	capture_begin(f);
	errno = EDOM;
	log_warn("still said");
	int err = errno;
	const char *text = capture_end(f);
	assert_int_equal(err, EDOM);
	assert_string_equal(text, "ACCEL WARN   : still said\n");
}

static void test_fd_released(void **state)
{
	struct fixture *f = *state;
	char path[256], other[256];
	path_in(f, "rel.log", path, sizeof(path));
	path_in(f, "other", other, sizeof(other));

	configure(ACCEL_LOG_WARN, path, 0, 0);
	log_warn("one");
	int fd = logger_fd(path);

	/* The program closes the logger's fd and reuses the number. */
	close(fd);
	log_fd_released(fd);
	int o = open(other, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(o >= 0);
	assert_int_equal(dup2(o, fd), fd);
	close(o);

	log_warn("two");
	assert_string_equal(file_text(f, other), "");
	assert_string_equal(file_text(f, path), "ACCEL WARN   : one\nACCEL WARN   : two\n");
	int again = logger_fd(path);
	assert_int_not_equal(again, fd);
	close(fd);
}

static void test_fd_released_other_fds(void **state)
{
	struct fixture *f = *state;
	char path[256];
	path_in(f, "keep.log", path, sizeof(path));
	configure(ACCEL_LOG_WARN, path, 0, 0);
	log_warn("one");
	int fd = logger_fd(path);

	/* Releasing fds that are not the logger's changes nothing. */
	log_fd_released(fd - 1);
	log_fd_released(-1);
	log_fd_range_released(0, (unsigned int)fd - 1);
	log_fd_range_released((unsigned int)fd + 1, ~0u);
	log_warn("two");
	assert_int_equal(logger_fd(path), fd); /* not reopened: still one fd */
	assert_string_equal(file_text(f, path), "ACCEL WARN   : one\nACCEL WARN   : two\n");
}

static void test_fd_range_released(void **state)
{
	struct fixture *f = *state;
	char path[256];
	path_in(f, "range.log", path, sizeof(path));
	configure(ACCEL_LOG_WARN, path, 0, 0);

	/* Ranges that include the fd, as close_range() and closefrom() give them. */
	static const int shapes[] = { 0, 1, 2, 3 };
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		log_warn("line %zu", i);
		int fd = logger_fd(path);
		unsigned int u = (unsigned int)fd;
		close(fd);
		switch (shapes[i]) {
		case 0:
			log_fd_range_released(u, u);
			break;
		case 1:
			log_fd_range_released(u - 1, u + 1);
			break;
		case 2:
			log_fd_range_released(3, ~0u);
			break;
		default:
			log_fd_range_released(0, u);
			break;
		}
	}
	log_warn("last");
	logger_fd(path);
	assert_string_equal(file_text(f, path), "ACCEL WARN   : line 0\nACCEL WARN   : line 1\n"
						"ACCEL WARN   : line 2\nACCEL WARN   : line 3\n"
						"ACCEL WARN   : last\n");
}

/* ---- colours ---- */

static void test_no_colors_off_terminal(void **state)
{
	struct fixture *f = *state;
	char path[256];
	configure(ACCEL_LOG_FINER, "", 0, 1);
	capture_begin(f);
	accel_log(ACCEL_LOG_PANIC, "p");
	log_error("e");
	log_warn("w");
	log_debug("d");
	const char *text = capture_end(f);
	assert_int_equal(count_lines(text), 4);
	assert_null(strchr(text, '\033'));

	path_in(f, "colors.log", path, sizeof(path));
	configure(ACCEL_LOG_FINER, path, 0, 1);
	log_error("e");
	log_warn("w");
	text = file_text(f, path);
	assert_int_equal(count_lines(text), 2);
	assert_null(strchr(text, '\033'));
}

struct pty {
	int master, slave;
	char name[128];
};

static int pty_open(struct pty *t)
{
	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0)
		return -1;
	if (grantpt(t->master) || unlockpt(t->master) ||
	    ptsname_r(t->master, t->name, sizeof(t->name))) {
		close(t->master);
		return -1;
	}
	t->slave = open(t->name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->slave < 0) {
		close(t->master);
		return -1;
	}
	return 0;
}

/* Everything written to the terminal up to a marker line the test writes itself. */
static const char *pty_drain(struct fixture *f, struct pty *t)
{
	static const char mark[] = "--end of test output--";
	assert_int_equal(write(t->slave, mark, sizeof(mark) - 1), (ssize_t)sizeof(mark) - 1);
	size_t used = 0;
	f->text[0] = '\0';
	while (!strstr(f->text, mark)) {
		struct pollfd p = { .fd = t->master, .events = POLLIN };
		/* Only a guard against hanging forever: the data is already written. */
		assert_int_equal(poll(&p, 1, 30000), 1);
		ssize_t n = read(t->master, f->text + used, sizeof(f->text) - 1 - used);
		assert_true(n > 0);
		used += (size_t)n;
		f->text[used] = '\0';
	}
	*strstr(f->text, mark) = '\0';
	return f->text;
}

static void test_colors_on_terminal(void **state)
{
	struct fixture *f = *state;
	struct pty t;
	if (pty_open(&t) < 0)
		skip();

	f->saved_stderr = dup(STDERR_FILENO);
	assert_true(f->saved_stderr >= 0);
	assert_int_equal(dup2(t.slave, STDERR_FILENO), STDERR_FILENO);

	configure(ACCEL_LOG_INFO, "", 0, 1);
	log_warn("w");
	log_error("e");
	log_info("i");
	const char *text = pty_drain(f, &t);
	assert_non_null(strstr(text, "\033[33mACCEL WARN   : w\033[0m"));
	assert_non_null(strstr(text, "\033[31mACCEL ERROR  : e\033[0m"));
	/* Info has no colour, and log_always never has one. */
	assert_non_null(strstr(text, "\nACCEL INFO   : i"));
	assert_null(strstr(text, "i\033[0m"));
	log_always("TRACE", "t");
	text = pty_drain(f, &t);
	assert_null(strchr(text, '\033'));
	assert_non_null(strstr(text, "ACCEL TRACE  : t"));

	/* Colours not wanted: none, even on a terminal. */
	configure(ACCEL_LOG_INFO, "", 0, 0);
	log_warn("w");
	text = pty_drain(f, &t);
	assert_non_null(strstr(text, "ACCEL WARN   : w"));
	assert_null(strchr(text, '\033'));

	/* A very long coloured line still ends with the reset and a newline. */
	configure(ACCEL_LOG_INFO, "", 0, 1);
	char *big = malloc(10000);
	assert_non_null(big);
	memset(big, 'c', 9999);
	big[9999] = '\0';
	log_warn("%s", big);
	free(big);
	text = pty_drain(f, &t);
	assert_non_null(strstr(text, "\033[33mACCEL WARN   : ccc"));
	assert_non_null(strstr(text, "c\033[0m\r\n"));

	/* A log file is never coloured, even when it is a terminal. */
	configure(ACCEL_LOG_INFO, t.name, 0, 1);
	log_warn("w");
	text = pty_drain(f, &t);
	assert_non_null(strstr(text, "ACCEL WARN   : w"));
	assert_null(strchr(text, '\033'));
	configure(ACCEL_LOG_WARN, "", 0, 0); /* closes the logger's fd on the terminal */

	restore_stderr(f);
	close(t.slave);
	close(t.master);
}

/* ---- errno, long messages ---- */

static void test_errno_preserved(void **state)
{
	struct fixture *f = *state;
	char path[256];

	configure(ACCEL_LOG_WARN, "", 3, 1);
	capture_begin(f);
	errno = ENOTSUP;
	log_warn("to stderr");
	assert_int_equal(errno, ENOTSUP);
	errno = EPIPE;
	log_always("TRACE", "always");
	assert_int_equal(errno, EPIPE);
	capture_end(f);

	/* Writing fails (fd 2 closed): errno is still the caller's. */
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	close(STDERR_FILENO);
	errno = ECONNRESET;
	log_error("nowhere");
	int err = errno;
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(err, ECONNRESET);

	/* The first line to a file opens it. */
	path_in(f, "errno.log", path, sizeof(path));
	configure(ACCEL_LOG_WARN, path, 0, 1);
	errno = EMFILE;
	log_warn("opens the file");
	assert_int_equal(errno, EMFILE);
	assert_string_equal(file_text(f, path), "ACCEL WARN   : opens the file\n");
}

static void test_errno_seen_by_format(void **state)
{
	struct fixture *f = *state;
	/* "%m" prints the caller's errno, even after isatty() (colours wanted,
	 * stderr not a terminal) has set errno to ENOTTY inside the logger. */
	configure(ACCEL_LOG_WARN, "", 0, 0);
	capture_begin(f);
	errno = ECONNREFUSED;
	log_warn("failed: %m");
	const char *text = capture_end(f);
	assert_string_equal(text, "ACCEL WARN   : failed: Connection refused\n");

	configure(ACCEL_LOG_WARN, "", 0, 1);
	capture_begin(f);
	errno = ECONNREFUSED;
	log_warn("failed: %m");
	text = capture_end(f);
	assert_int_equal(count_lines(text), 1);
	assert_string_equal(text, "ACCEL WARN   : failed: Connection refused\n");
}

static void test_long_message_truncated(void **state)
{
	struct fixture *f = *state;
	static const char prefix[] = "ACCEL WARN   : ";
	const size_t plen = sizeof(prefix) - 1;
	char *msg = malloc(20001);
	assert_non_null(msg);
	memset(msg, 'a', 20000);

	static const int details[] = { 0, 3 };
	for (size_t d = 0; d < 2; d++) {
		configure(ACCEL_LOG_WARN, "", details[d], 1);
		/* Around the line buffer's size, and far beyond it. */
		static const size_t lengths[] = { 0, 1, 1000, 2000, 2020, 2030, 2031, 2032, 2033,
						  2040, 2047, 2048, 2049, 4096, 20000 };
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
			size_t n = lengths[i];
			msg[n] = '\0';
			capture_begin(f);
			log_warn("%s", msg);
			const char *text = capture_end(f);
			msg[n] = 'a';
			size_t len = strlen(text);
			/* One complete line, bounded. */
			assert_int_equal(count_lines(text), 1);
			assert_true(len >= plen + 1);
			assert_int_equal(text[len - 1], '\n');
			/* The line is built in a 2048-byte buffer, terminator included. */
			assert_true(len <= 2047);
			assert_memory_equal(text, prefix, plen);
			/* The message part is a prefix of the message... */
			const char *body = details[d] ? strstr(text, "] ") + 2 : text + plen;
			size_t blen = (size_t)(text + len - 1 - body);
			assert_true(blen <= n);
			for (size_t k = 0; k < blen; k++)
				assert_int_equal(body[k], 'a');
			/* ...complete when it fits in the line beside its prefix (whose
			 * length grows with the pid's digits), never cut short otherwise. */
			size_t room = 2047 - 1 - (size_t)(body - text);
			if (n <= room)
				assert_int_equal(blen, n);
			else
				assert_true(len >= 2000);
		}
	}
	free(msg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_level_filtering),
		T(test_level_names),
		T(test_log_always),
		T(test_prefix_details),
		T(test_prefix_tid_is_callers),
		T(test_after_fork),
		T(test_file_pid_in_name),
		T(test_file_appended_and_lazy),
		T(test_file_mode_and_fd),
		T(test_file_switch),
		T(test_file_unopenable_falls_back),
		T(test_fd_released),
		T(test_fd_released_other_fds),
		T(test_fd_range_released),
		T(test_no_colors_off_terminal),
		T(test_colors_on_terminal),
		T(test_errno_preserved),
		T(test_errno_seen_by_format),
		T(test_long_message_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
