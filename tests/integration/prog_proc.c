/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sockets across fork (both processes using one connection), vfork + exec,
 * daemon, and exec of itself keeping a socket by number (argv) and losing a
 * CLOEXEC one. "prog_proc" runs it all; the other modes are its children.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sys/wait.h>

#include "prog_util.h"

static char self[4096];

static const char *status_str(int status)
{
	static char buf[64];
	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "status %#x", status);
	return buf;
}

static const char *reap(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return status_str(status);
}

/* Everything the peer sends until EOF (at most 255 bytes), as a string. */
static const char *drain(int fd)
{
	static char buf[256];
	size_t n = read_full(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	return buf;
}

static void fork_connect(void)
{
	int l = tcp_listener(AF_INET, 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = tcp_connect_to(l, AF_INET, 0);
		write_all(fd, "child connected", 15);
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	say("fork: child connected to the parent's listener, sent \"%s\"; child %s", drain(s),
	    reap(pid));
	close(s);
	close(l);
}

static void fork_shared(void)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		write_all(sv[0], "child+", 6);
		close(sv[0]); /* the parent's copy stays open */
		_exit(0);
	}
	const char *st = reap(pid);
	write_all(sv[0], "parent", 6);
	close(sv[0]);
	say("fork: one connection written by child then parent: \"%s\"; child %s", drain(sv[1]), st);
	close(sv[1]);
}

static void vfork_exec(void)
{
	int sv[2], x[2];
	tcp_pair(AF_INET, 0, sv);
	tcp_pair(AF_INET, SOCK_CLOEXEC, x);
	char fd[16], xfd[16];
	snprintf(fd, sizeof(fd), "%d", sv[0]);
	snprintf(xfd, sizeof(xfd), "%d", x[0]);
	fflush(stdout);
	pid_t pid = vfork();
	if (pid < 0)
		die("vfork");
	if (pid == 0) {
		execl(self, "prog_proc-vforked", "report", fd, xfd, (char *)NULL);
		_exit(127);
	}
	const char *st = reap(pid);
	close(sv[0]);
	say("vfork+exec: the exec'd child reported \"%s\"; child %s", drain(sv[1]), st);
	close(sv[1]);
	close(x[0]);
	close(x[1]);
}

static void daemonized(void)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[1]);
		alarm(10);
		if (daemon(1, 1) < 0)
			_exit(3);
		/* Only the daemon gets here; its parent (our child) has exited. */
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "daemon running, session leader: %s",
				 getsid(0) == getpid() ? "yes" : "no");
		write_all(sv[0], msg, (size_t)n);
		_exit(0);
	}
	const char *st = reap(pid);
	close(sv[0]);
	say("daemon: the child exited (%s); the daemon sent \"%s\"", st, drain(sv[1]));
	close(sv[1]);
}

/* Whether fd is a connected TCP socket whose peer is peer_fd. */
static const char *linked(int fd, int peer_fd)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	int type = 0;
	socklen_t lt = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &lt) < 0)
		return errname(errno);
	if (getpeername(fd, (struct sockaddr *)&a, &la) < 0 ||
	    getsockname(peer_fd, (struct sockaddr *)&b, &lb) < 0)
		return errname(errno);
	return type == SOCK_STREAM && la == lb && !memcmp(&a, &b, la) ? "connected to its peer"
									: "NOT its peer";
}

static int exec_self(void)
{
	int sv[2], x[2];
	tcp_pair(AF_INET, 0, sv);
	tcp_pair(AF_INET, SOCK_CLOEXEC, x);
	write_all(sv[0], "sent before exec", 16);
	char a[16], b[16], c[16];
	snprintf(a, sizeof(a), "%d", sv[0]);
	snprintf(b, sizeof(b), "%d", sv[1]);
	snprintf(c, sizeof(c), "%d", x[0]);
	say("exec: replacing this process; the socket pair survives, one CLOEXEC socket does not");
	fflush(stdout);
	execl(self, "prog_proc-after-exec", "after-exec", a, b, c, (char *)NULL);
	die("execl %s", self);
}

/* prog_proc-vforked report FD CLOEXEC_FD: report over FD what this image sees. */
static int report(char **argv)
{
	int fd = atoi(argv[2]), xfd = atoi(argv[3]);
	char msg[128];
	int flags = fcntl(fd, F_GETFD);
	int n = snprintf(msg, sizeof(msg), "inherited fd open: %s, cloexec socket: %s",
			 flags >= 0 ? "yes" : "no", fcntl(xfd, F_GETFD) < 0 ? errname(errno) : "open");
	write_all(fd, msg, (size_t)n);
	return 0;
}

/* prog_proc-after-exec after-exec A B X: use the pair A-B made before exec. */
static int after_exec(char **argv)
{
	int a = atoi(argv[2]), b = atoi(argv[3]), x = atoi(argv[4]);
	char buf[32];
	say("after exec: A is %s", linked(a, b));
	say("after exec: B is %s", linked(b, a));
	size_t n = read_full(b, buf, 16);
	say("after exec: B reads \"%.*s\"", (int)n, buf);
	write_all(b, "reply", 5);
	n = read_full(a, buf, 5);
	say("after exec: A reads \"%.*s\"", (int)n, buf);
	say("after exec: the CLOEXEC socket: %s", res(fcntl(x, F_GETFD)));
	shutdown(a, SHUT_WR);
	say("after exec: B after A's shutdown: %s", res(read(b, buf, sizeof(buf))));
	close(a);
	close(b);
	say("== done");
	return 0;
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		die("readlink /proc/self/exe");
	self[n] = '\0';
	if (argc == 4 && !strcmp(argv[1], "report"))
		return report(argv);
	if (argc == 5 && !strcmp(argv[1], "after-exec"))
		return after_exec(argv);
	if (argc != 1) {
		fprintf(stderr, "usage: prog_proc\n");
		return 2;
	}
	fork_connect();
	fork_shared();
	vfork_exec();
	daemonized();
	return exec_self();
}
