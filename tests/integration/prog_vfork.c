/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vfork as vfork(2) documents it: the child runs in the parent's memory until
 * exec or exit (so a failed exec can leave its errno for the parent, a common
 * pattern), and no pthread_atfork handler runs, unlike for fork.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sys/wait.h>

#include "prog_util.h"

static volatile int exec_errno;
static volatile int child_ran;
static volatile int atfork_calls;

static void count_atfork(void)
{
	atfork_calls++;
}

static int run(const char *path)
{
	int status;
	exec_errno = 0;
	child_ran = 0;
	fflush(stdout);
	pid_t pid = vfork();
	if (pid < 0)
		die("vfork");
	if (pid == 0) {
		child_ran = 1;
		execl(path, path, (char *)NULL);
		exec_errno = errno;
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv); /* a socket open across the vforks */
	if (pthread_atfork(count_atfork, count_atfork, NULL) != 0)
		die("pthread_atfork");
	int rc = run("/bin/true");
	say("vfork + exec /bin/true: exit %d", rc);
	rc = run("/nonexistent/program");
	say("vfork + exec of a missing program: exit %d", rc);
	say("  the child's stores seen by the parent: ran=%d, exec errno=%s", child_ran,
	    errname(exec_errno));
	say("pthread_atfork handlers run in the parent by 2 vforks: %d", atfork_calls);
	write_all(sv[0], "ok", 2);
	char buf[2];
	say("socket after the vforks: %s", read_full(sv[1], buf, 2) == 2 ? "works" : "BROKEN");

	/*
	 * The child closes the parent's socket number before _exit: its own fd,
	 * but in the parent's memory. The answer
	 * to a libaccel-level question about the parent's socket (level 0xacc,
	 * SOL_ACCEL; the kernel refuses it) must not change.
	 */
	char before[32], after[32];
	socklen_t len = sizeof(before);
	int rb = getsockopt(sv[0], 0x0acc, 3, before, &len);
	int eb = errno;
	fflush(stdout);
	pid_t pid = vfork();
	if (pid == 0) {
		close(sv[0]);
		_exit(0);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		die("vfork/waitpid");
	len = sizeof(after);
	int ra = getsockopt(sv[0], 0x0acc, 3, after, &len);
	int ea = errno;
	say("parent's socket as libaccel sees it, after the child closed its number: %s",
	    rb == ra && (rb ? eb == ea : !strcmp(before, after)) ? "unchanged" : "CHANGED");
	write_all(sv[0], "ok", 2);
	say("socket after the child's close: %s",
	    read_full(sv[1], buf, 2) == 2 ? "works" : "BROKEN");
	return 0;
}
