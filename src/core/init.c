/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Start-up: read the parameters, set up logging, find libc, size the fd
 * table. Cheap and silent at the default level; everything here also
 * works if a wrapper ran first (another library's constructor).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../config/log.h"
#include "../config/params.h"
#include "../config/profile.h"
#include "core.h"
#include "engine.h"
#include "fd_table.h"
#include "interpose.h"
#include "libc.h"
#include "mux.h"
#include "rules_state.h"

extern char **environ;
extern char *program_invocation_name;

struct accel_params accel_params;
int accel_params_loaded;

static void load_params(void)
{
	struct log_settings quiet = { .level = -1 };
	struct log_settings ls;

	/* First pass silent: warnings must go where ACCEL_LOG_FILE says. */
	log_configure(&quiet);
	params_load_all(&accel_params, environ);
	params_log_settings(&accel_params, &ls);
	log_configure(&ls);

	/* Second pass with logging in place: now bad values are reported. */
	params_load_all(&accel_params, environ);
}

__attribute__((constructor)) static void accel_init(void)
{
	int saved = errno;
	core_pid = getpid();
	load_params();
	__atomic_store_n(&accel_params_loaded, 1, __ATOMIC_RELEASE);
	libc_resolve();
	libc_set_trace((int)accel_params.trace_calls);
	/* The rules are read here, not at the first decision: a decision may
	 * run in a signal handler, where parsing a file is not safe. */
	rules_state_load();
	struct engine_params ep = {
		.rx_poll_us = accel_params.rx_poll,
		.yield_us = accel_params.wait_yield,
		.yield_wait = mux_yield_wait,
		.ring_size = (unsigned int)accel_params.shm_ring_size,
		.shm = (int)accel_params.shm,
	};
	for (const struct engine *const *e = core_engines; *e; e++)
		if ((*e)->configure)
			(*e)->configure(&ep);
	int rc = fd_table_init();
	if (rc < 0)
		log_warn("no fd table (%s): every socket stays on the kernel", strerror(-rc));
	log_info("libaccel %s in %s (pid %d), %u fds tracked", PACKAGE_VERSION,
		 program_invocation_name, (int)getpid(), fd_table_size());
	params_report(&accel_params);
	errno = saved;
}
