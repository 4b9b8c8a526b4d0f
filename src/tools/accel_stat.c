/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel-stat: show the sockets and counters that libaccel processes publish
 * in their statistics segments, once or refreshing like top. Options and
 * the refresh loop; reading is accel_stat_read.c, printing accel_stat_print.c.
 * It only reads other programs' segments (and unlinks those of the dead).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accel_stat.h"

enum view_kind { VIEW_TABLE, VIEW_TOTALS, VIEW_SOCKET, VIEW_JSON };

struct options {
	struct astat_view view;
	enum view_kind kind;
	const char *dir;     /* NULL: publishing is off (empty directory name) */
	unsigned long count; /* refreshes; 0: until a signal */
};

static volatile sig_atomic_t stop_requested;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: accel-stat [options]\n"
		"Show the sockets of running libaccel processes, with the engine that carries\n"
		"each one or why the kernel does, and their counters.\n"
		"\n"
		"Options:\n"
		"  -e, --extend          add the columns User, PID:FD and Program\n"
		"  -c, --connected       connected sockets only\n"
		"  -l, --listening       listening sockets (and bound, unconnected UDP) only\n"
		"  -t, --tcp             TCP sockets only\n"
		"  -u, --udp             UDP sockets only (-t -u: both)\n"
		"  -p, --pid PID         the sockets of process PID only\n"
		"  -s, --socket PID:FD   every field and counter of one socket\n"
		"  -T, --totals          per process: sockets tracked, offloaded, unpublished,\n"
		"                        and the kernel's sockets by reason\n"
		"  -i, --interval SECS   refresh every SECS seconds (decimals allowed), with\n"
		"                        rates per second, until interrupted\n"
		"  -n, --count COUNT     with -i: stop after COUNT refreshes\n"
		"      --json            print JSON (with -i: one document per line)\n"
		"  -d, --dir DIR         read segments under DIR (default:\n"
		"                        $ACCEL_STATS_SHMEM_DIR, else /dev/shm)\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n"
		"\n"
		"See accel-stat(1).\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("accel-stat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'accel-stat --help'.\n", stderr);
	return 2;
}

/* A whole decimal number in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_socket(const char *s, struct astat_filter *f)
{
	char buf[64];
	long pid, fd;
	const char *colon = strchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (parse_long(buf, 1, INT_MAX, &pid) < 0 || parse_long(colon + 1, 0, INT_MAX, &fd) < 0)
		return -EINVAL;
	f->pid = (pid_t)pid;
	f->fd = (int)fd;
	return 0;
}

/* 0 parsed, 1 done (help, version), 2 bad usage. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "extend", no_argument, NULL, 'e' },
		{ "connected", no_argument, NULL, 'c' },
		{ "listening", no_argument, NULL, 'l' },
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "pid", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "totals", no_argument, NULL, 'T' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct astat_filter *f = &o->view.filter;
	const char *dir = NULL;
	int json = 0, totals = 0, one = 0, opt;
	long pid = 0, n;
	f->fd = -1;
	while ((opt = getopt_long(argc, argv, "ecltup:s:Ti:n:d:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': o->view.extended = 1; break;
		case 'c': f->connected = 1; break;
		case 'l': f->listening = 1; break;
		case 't': f->tcp = 1; break;
		case 'u': f->udp = 1; break;
		case 'T': totals = 1; break;
		case OPT_JSON: json = 1; break;
		case 'd': dir = optarg; break;
		case 'p':
			if (parse_long(optarg, 1, INT_MAX, &pid) < 0)
				return bad_usage("-p: '%s' is not a process id", optarg);
			break;
		case 's':
			if (parse_socket(optarg, f) < 0)
				return bad_usage("-s: '%s' is not PID:FD", optarg);
			one = 1;
			break;
		case 'i': {
			char *end;
			errno = 0;
			double secs = strtod(optarg, &end);
			/* A floor keeps a typo like 1e-9 from spinning. */
			if (errno || end == optarg || *end || !isfinite(secs) || secs < 0.001 ||
			    secs > 1e6)
				return bad_usage("-i: '%s' is not a number of seconds from 0.001",
						 optarg);
			o->view.interval = secs;
			o->view.rates = 1;
			break;
		}
		case 'n':
			if (parse_long(optarg, 1, LONG_MAX, &n) < 0)
				return bad_usage("-n: '%s' is not a count of at least 1", optarg);
			o->count = (unsigned long)n;
			break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("accel-stat (libaccel) %s\n", PACKAGE_VERSION); return 1;
		default: fputs("Try 'accel-stat --help'.\n", stderr); return 2;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (o->count && !o->view.rates)
		return bad_usage("-n needs -i");
	if (one && totals)
		return bad_usage("-s and -T are two views: choose one");
	if (one && pid && pid != f->pid)
		return bad_usage("-p and -s name two processes");
	if (!one)
		f->pid = (pid_t)pid;
	o->kind = json ? VIEW_JSON : one ? VIEW_SOCKET : totals ? VIEW_TOTALS : VIEW_TABLE;

	/* An empty ACCEL_STATS_SHMEM_DIR is libaccel's "publish nothing". */
	const char *env = getenv("ACCEL_STATS_SHMEM_DIR");
	if (!dir && env && !*env)
		fputs("accel-stat: ACCEL_STATS_SHMEM_DIR is empty: libaccel publishes no "
		      "statistics\n",
		      stderr);
	o->dir = dir ? dir : env ? (*env ? env : NULL) : ACCEL_STATS_DEFAULT_DIR;
	return 0;
}

/* 0, or 1 when the one socket asked for is not there. */
static int print_view(const struct options *o, const struct astat_snapshot *snap)
{
	const struct astat_filter *f = &o->view.filter;
	if (o->kind == VIEW_SOCKET || (o->kind == VIEW_JSON && f->fd >= 0)) {
		if (!astat_find(snap, f->pid, f->fd)) {
			fprintf(stderr, "accel-stat: no published socket %d:%d\n", (int)f->pid,
				f->fd);
			return 1;
		}
	}
	switch (o->kind) {
	case VIEW_TABLE: astat_print_table(stdout, snap, &o->view); break;
	case VIEW_TOTALS: astat_print_totals(stdout, snap, &o->view); break;
	case VIEW_SOCKET: astat_print_socket(stdout, snap, &o->view); break;
	case VIEW_JSON: astat_print_json(stdout, snap, &o->view); break;
	}
	return 0;
}

static int take(const struct options *o, struct astat_snapshot *snap)
{
	if (!o->dir) {
		memset(snap, 0, sizeof(*snap));
		snap->wall_s = (int64_t)time(NULL);
		return 0;
	}
	int rc = astat_snapshot_read(snap, o->dir, stderr);
	if (rc < 0)
		fprintf(stderr, "accel-stat: %s: %s\n", o->dir, strerror(-rc));
	return rc;
}

static void time_line(const struct options *o, const struct astat_snapshot *snap)
{
	if (isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout); /* home, clear */
	char when[32] = "";
	time_t t = (time_t)snap->wall_s;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("accel-stat  %s  every %gs\n\n", when, o->view.interval);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Sleep until deadline; 0 on a signal to stop. */
static int sleep_until(const struct timespec *deadline)
{
	while (!stop_requested) {
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL);
		if (rc == 0)
			return 1;
		if (rc != EINTR)
			return 0;
	}
	return 0;
}

static void timespec_add(struct timespec *t, double secs)
{
	time_t whole = (time_t)secs; /* secs > 0: truncation is floor */
	t->tv_sec += whole;
	t->tv_nsec += (long)((secs - (double)whole) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Rates need two snapshots: the first is taken silently, and every
 * refresh shows the interval just ended. */
static int refresh_loop(const struct options *o)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the sleep ends at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct astat_snapshot prev, cur;
	if (take(o, &prev) < 0)
		return 1;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	int status = 0;
	for (unsigned long done = 0; !o->count || done < o->count; done++) {
		timespec_add(&deadline, o->view.interval);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (deadline.tv_sec < now.tv_sec ||
		    (deadline.tv_sec == now.tv_sec && deadline.tv_nsec < now.tv_nsec))
			deadline = now; /* suspended or slow: do not catch up */
		if (!sleep_until(&deadline))
			break;
		if (take(o, &cur) < 0) {
			status = 1;
			break;
		}
		astat_snapshot_rates(&cur, &prev);
		if (o->kind != VIEW_JSON)
			time_line(o, &cur);
		status = print_view(o, &cur);
		fflush(stdout);
		astat_snapshot_free(&prev);
		prev = cur;
		if (status)
			break;
	}
	astat_snapshot_free(&prev);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	memset(&o, 0, sizeof(o));
	int rc = parse_options(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : 2;
	int status;
	if (o.view.rates && o.dir) {
		status = refresh_loop(&o);
	} else {
		struct astat_snapshot snap;
		if (take(&o, &snap) < 0)
			return 1;
		status = print_view(&o, &snap);
		astat_snapshot_free(&snap);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "accel-stat: cannot write the output: %s\n", strerror(errno));
		return 1;
	}
	return status;
}
