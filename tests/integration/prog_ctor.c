/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sockets made before main: in a .preinit_array function (which runs before
 * every shared library's constructor, libaccel's included) and in a
 * constructor; main and a destructor use them again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "prog_util.h"

struct early {
	int tcp[2];
	int udp[2];
	char log[512];
};

static struct early pre = { { -1, -1 }, { -1, -1 }, "" };
static struct early ctor = { { -1, -1 }, { -1, -1 }, "" };

static void note(struct early *e, const char *fmt, const char *a, long rc)
{
	size_t len = strlen(e->log);
	snprintf(e->log + len, sizeof(e->log) - len, fmt, a, rc < 0 ? errname(errno) : "ok");
}

/*
 * No stdio and no exit here: the preinit stage comes before libc has run
 * its own constructors. Results go to e->log, printed by main.
 */
static void open_sockets(struct early *e)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 0, &ss);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	long rc = l < 0 ? -1 : bind(l, (struct sockaddr *)&ss, len);
	if (rc == 0)
		rc = listen(l, 1);
	len = sizeof(ss);
	if (rc == 0)
		rc = getsockname(l, (struct sockaddr *)&ss, &len);
	e->tcp[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (rc == 0)
		rc = connect(e->tcp[0], (struct sockaddr *)&ss, len);
	if (rc == 0)
		rc = e->tcp[1] = accept(l, NULL, NULL);
	note(e, "%s tcp pair: %s;", "", rc);
	if (l >= 0)
		close(l);
	char buf[8] = "";
	rc = rc < 0 ? -1 : send(e->tcp[0], "early", 5, 0);
	if (rc >= 0)
		rc = recv(e->tcp[1], buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT);
	note(e, " tcp exchange%s: %s;", rc == 5 && !memcmp(buf, "early", 5) ? "" : " WRONG", rc);

	len = loopback(AF_INET, 0, &ss);
	e->udp[0] = socket(AF_INET, SOCK_DGRAM, 0);
	e->udp[1] = socket(AF_INET, SOCK_DGRAM, 0);
	rc = e->udp[0] < 0 || e->udp[1] < 0 ? -1 : bind(e->udp[0], (struct sockaddr *)&ss, len);
	len = sizeof(ss);
	if (rc == 0)
		rc = getsockname(e->udp[0], (struct sockaddr *)&ss, &len);
	if (rc == 0)
		rc = connect(e->udp[1], (struct sockaddr *)&ss, len);
	if (rc == 0)
		rc = send(e->udp[1], "dgram", 5, 0);
	if (rc >= 0)
		rc = recv(e->udp[0], buf, sizeof(buf), 0);
	note(e, " udp exchange%s: %s", rc == 5 && !memcmp(buf, "dgram", 5) ? "" : " WRONG", rc);
}

static void preinit(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	open_sockets(&pre);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_fn)(int, char **,
									    char **) = preinit;

__attribute__((constructor)) static void constructor(void)
{
	open_sockets(&ctor);
}

/* Send word from a to b and read it back: "ok" or what went wrong. */
static const char *roundtrip(int a, int b, const char *word)
{
	static char out[64];
	char buf[16] = "";
	size_t n = strlen(word);
	if (send(a, word, n, 0) != (ssize_t)n) {
		snprintf(out, sizeof(out), "send %s", errname(errno));
		return out;
	}
	ssize_t got = recv(b, buf, sizeof(buf), 0);
	if (got < 0)
		snprintf(out, sizeof(out), "recv %s", errname(errno));
	else
		snprintf(out, sizeof(out), "%s", got == (ssize_t)n && !memcmp(buf, word, n) ? "ok" : "WRONG");
	return out;
}

__attribute__((destructor)) static void destructor(void)
{
	say("destructor: preinit tcp %s", roundtrip(pre.tcp[1], pre.tcp[0], "bye"));
	say("destructor: constructor udp %s", roundtrip(ctor.udp[1], ctor.udp[0], "bye"));
}

int main(void)
{
	say("preinit:%s", pre.log);
	say("constructor:%s", ctor.log);
	say("main: preinit tcp, both ways: %s", roundtrip(pre.tcp[1], pre.tcp[0], "from main"));
	say("main: preinit udp: %s", roundtrip(pre.udp[1], pre.udp[0], "main"));
	say("main: constructor tcp: %s", roundtrip(ctor.tcp[0], ctor.tcp[1], "main"));
	int d = dup(pre.tcp[0]);
	close(pre.tcp[0]);
	say("main: dup of a preinit socket, original closed: %s", roundtrip(d, pre.tcp[1], "dup"));
	pre.tcp[0] = d;
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	say("main: a new tcp pair: %s", roundtrip(sv[0], sv[1], "new"));
	close(sv[0]);
	close(sv[1]);
	close(ctor.tcp[0]);
	char c;
	say("main: constructor tcp after the peer closed: %s", res(recv(ctor.tcp[1], &c, 1, 0)));
	return 0;
}
