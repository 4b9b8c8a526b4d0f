/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Two ways a program can catch libaccel mid-way:
 *   prog_races signal: a socket decided inside a signal handler (listen is
 *     async-signal-safe) that interrupts malloc; must not corrupt the heap.
 *   prog_races rules N: four threads decide listeners while the main
 *     thread adds rules with accel_add_conf_rule (a new table swapped in
 *     each time); then one more listener is decided by the last rule.
 *   prog_races dup N: dup() of a socket while another thread closes it;
 *     under libaccel every successful dup must still be known as the same
 *     socket (SOL_ACCEL answers for it). No other thread makes sockets, so
 *     the fd number cannot be reused under the dup: that would be the
 *     program's own race, with or without libaccel.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <accel/extra.h>
#include <accel/socket.h>

static volatile sig_atomic_t done;

static void on_alarm(int sig)
{
	(void)sig;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	listen(s, 1);
	close(s);
	done = 1;
}

static int signal_case(void)
{
	signal(SIGALRM, on_alarm);
	struct itimerval it = { { 0, 0 }, { 0, 1000 + (getpid() % 997) } };
	setitimer(ITIMER_REAL, &it, NULL);
	void *p[64] = { 0 };
	for (unsigned long i = 0; !done && i < 400000000UL; i++) {
		unsigned int k = (unsigned int)(i * 2654435761u) % 64;
		free(p[k]);
		p[k] = malloc(16 + (i % 4096));
	}
	printf("signal: %s\n", done ? "ok" : "no alarm");
	return 0;
}

static volatile int target = -1, stop;
static pthread_barrier_t bar;

static void *closer(void *x)
{
	(void)x;
	while (!stop) {
		pthread_barrier_wait(&bar);
		close(target);
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

static int dup_case(long rounds)
{
	pthread_t t;
	long total = 0, lost = 0, wrong = 0;
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, closer, NULL);
	for (long i = 0; i < rounds; i++) {
		target = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(target, SOL_ACCEL, SO_ACCEL_NO_ACCEL, &one, sizeof(one));
		listen(target, 1);
		pthread_barrier_wait(&bar);
		int d = dup(target);
		pthread_barrier_wait(&bar);
		if (d < 0)
			continue;
		total++;
		int v = -1;
		socklen_t l = sizeof(v);
		if (getsockopt(d, SOL_ACCEL, SO_ACCEL_NO_ACCEL, &v, &l) < 0)
			lost++;
		else if (v != 1)
			wrong++;
		close(d);
	}
	stop = 1;
	printf("dup: %ld dups, %ld unknown to libaccel, %ld seen as another socket\n", total, lost,
	       wrong);
	fflush(stdout);
	_exit(0);
}

static void *decider(void *x)
{
	long *count = x;
	while (!stop) {
		int s = socket(AF_INET6, SOCK_STREAM, 0);
		if (s >= 0 && listen(s, 1) == 0)
			(*count)++;
		close(s);
	}
	return NULL;
}

static int rules_case(long rounds)
{
	const struct accel_api *api = accel_get_api();
	pthread_t t[4];
	long counts[4] = { 0 };
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, decider, &counts[i]);
	long added = 0;
	for (long i = 0; api && i < rounds; i++) {
		char rule[64];
		snprintf(rule, sizeof(rule), "use os tcp_server *:%ld", 1 + i % 65535);
		added += api->add_conf_rule(rule) == 0;
	}
	stop = 1;
	long decided = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		decided += counts[i];
	}
	/* The last rule covers every port: it must decide this listener. */
	if (api)
		api->add_conf_rule("use os tcp_server *:*");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	listen(s, 1);
	printf("rules: %ld added while %s listeners were decided\n", added,
	       decided > 0 ? "other" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "signal"))
		return signal_case();
	if (argc > 2 && !strcmp(argv[1], "dup"))
		return dup_case(atol(argv[2]));
	if (argc > 2 && !strcmp(argv[1], "rules"))
		return rules_case(atol(argv[2]));
	fprintf(stderr, "usage: prog_races signal | dup ROUNDS | rules ROUNDS\n");
	return 2;
}
