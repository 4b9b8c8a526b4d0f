/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-socket options of <accel/socket.h> and the run-time rule API of
 * <accel/extra.h>, from a program's side. Prints one line per check; the
 * caller compares the transcript with what libaccel (or its absence) must
 * give. Usage: prog_policy PORT
 *
 * Five listeners on 127.0.0.1:PORT, one after the other, each closed before
 * the next: opted out, opted in, left alone, after a run-time os rule, after
 * a run-time accel rule on top of it. Their decisions are in libaccel's
 * debug log in that order. Under libaccel the transcript is (an accel
 * listener is also advertised by the same-host engine, shm):
 *	api: present
 *	api version: 1
 *	opt out before listen: ok
 *	opted-out listener no-accel: ok 1
 *	opted-out listener engine: ok kernel
 *	opted-out listener offloaded: ok 0
 *	opt in after decision: EPERM		(0 is too late on a kernel socket)
 *	opt out after decision: ok		(1 is true of a kernel socket)
 *	write read-only option: EPERM
 *	write read-only engine: EPERM
 *	unknown option: ENOPROTOOPT
 *	opt in before listen: ok
 *	opted-in listener engine: ok shm	(kernel when a rule says os)
 *	default listener engine: ok kernel
 *	add good rule: ok			(use os tcp_server *:1-65535)
 *	add bad rule: EINVAL			(port 0)
 *	add two rules: EINVAL			(exactly one rule per call)
 *	add NULL: EINVAL
 *	listener engine: ok kernel
 *	listener offloaded: ok 0
 *	add accel rule on top: ok		(use accel tcp_server 127.0.0.1:PORT)
 *	listener after accel rule engine: ok shm
 * Without libaccel: "api: absent", no "api version" and no "add" lines,
 * and every SOL_ACCEL call fails with ENOPROTOOPT or EOPNOTSUPP (the
 * values read print as -1, the engine as nothing).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <accel/extra.h>
#include <accel/socket.h>

#include "prog_util.h"

static const char *err_name(int rc)
{
	if (rc == 0)
		return "ok";
	switch (errno) {
	case EPERM:
		return "EPERM";
	case ENOPROTOOPT:
		return "ENOPROTOOPT";
	default:
		return errname(errno);
	}
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR");
	return fd;
}

static void listen_on(int fd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, htons((unsigned short)port), &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4) < 0)
		die("bind/listen on port %d", port);
}

static void show_int(const char *label, int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	int rc = getsockopt(fd, SOL_ACCEL, name, &v, &len);
	say("%s: %s %d", label, err_name(rc), rc ? -1 : v);
}

static void show_engine(const char *label, int fd)
{
	char name[32] = "?";
	socklen_t len = sizeof(name);
	int rc = getsockopt(fd, SOL_ACCEL, SO_ACCEL_ENGINE, name, &len);
	say("%s engine: %s%s%s", label, err_name(rc), rc ? "" : " ", rc ? "" : name);
}

static void show_offloaded(const char *label, int fd)
{
	char what[64];
	snprintf(what, sizeof(what), "%s offloaded", label);
	show_int(what, fd, SO_ACCEL_OFFLOADED);
}

static void add_rule(const struct accel_api *api, const char *label, const char *rule)
{
	say("%s: %s", label, err_name(api->add_conf_rule(rule)));
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	if (port < 1 || port > 65535) {
		fprintf(stderr, "usage: prog_policy PORT\n");
		return 2;
	}
	const struct accel_api *api = accel_get_api();
	say("api: %s", api ? "present" : "absent");
	if (api)
		say("api version: %d", api->size >= sizeof(*api) ? api->version : -1);

	/* Opted out before listen: stays on the kernel whatever the rules say. */
	int a = tcp_socket();
	say("opt out before listen: %s", err_name(accel_disable_acceleration(a)));
	listen_on(a, port);
	show_int("opted-out listener no-accel", a, SO_ACCEL_NO_ACCEL);
	show_engine("opted-out listener", a);
	show_offloaded("opted-out listener", a);
	int zero = 0, one = 1;
	say("opt in after decision: %s",
	    err_name(setsockopt(a, SOL_ACCEL, SO_ACCEL_NO_ACCEL, &zero, sizeof(zero))));
	say("opt out after decision: %s",
	    err_name(setsockopt(a, SOL_ACCEL, SO_ACCEL_NO_ACCEL, &one, sizeof(one))));
	say("write read-only option: %s",
	    err_name(setsockopt(a, SOL_ACCEL, SO_ACCEL_OFFLOADED, &one, sizeof(one))));
	say("write read-only engine: %s",
	    err_name(setsockopt(a, SOL_ACCEL, SO_ACCEL_ENGINE, "shm", 4)));
	say("unknown option: %s", err_name(setsockopt(a, SOL_ACCEL, 99, &one, sizeof(one))));
	close(a);

	/* Opted in before listen: offloaded even under ACCEL_OFFLOADED_SOCKETS=0
	 * when no rule matches (the debug log shows it). */
	int b = tcp_socket();
	say("opt in before listen: %s",
	    err_name(setsockopt(b, SOL_ACCEL, SO_ACCEL_NO_ACCEL, &zero, sizeof(zero))));
	listen_on(b, port);
	show_engine("opted-in listener", b);
	close(b);

	/* Left alone: the rules file and ACCEL_OFFLOADED_SOCKETS decide. */
	int c = tcp_socket();
	listen_on(c, port);
	show_engine("default listener", c);
	close(c);

	/* A rule added at run time decides the next listener. */
	if (api) {
		add_rule(api, "add good rule", "use os tcp_server *:1-65535");
		add_rule(api, "add bad rule", "use os tcp_server *:0");
		add_rule(api, "add two rules", "use os tcp_server *:1\nuse os tcp_server *:2");
		say("add NULL: %s", err_name(api->add_conf_rule(NULL)));
	}
	int d = tcp_socket();
	listen_on(d, port);
	show_engine("listener", d);
	show_offloaded("listener", d);
	close(d);

	/* A later rule goes on top of the earlier one. */
	if (api) {
		char rule[64];
		snprintf(rule, sizeof(rule), "use accel tcp_server 127.0.0.1:%d", port);
		add_rule(api, "add accel rule on top", rule);
	}
	int e = tcp_socket();
	listen_on(e, port);
	show_engine("listener after accel rule", e);
	close(e);
	return 0;
}
