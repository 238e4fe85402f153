/* SPDX-License-Identifier: MIT */
/* loop.h - the daemon: one thread, one wait, every socket and timer.
 *
 * loop_run() builds the adapters (libcurl, libmosquitto, libmicrohttpd)
 * and the spool around the hub, then waits in http_curl_wait() on the MQTT
 * socket, curl's sockets, the status server's epoll fd and a self-pipe
 * that signal handlers write to. Signal handlers only set flags.
 * SIGTERM/SIGINT: stop reading, flush within influx.shutdown_grace_ms,
 * print the summary line, return 0. SIGHUP: reload the config file; a bad
 * file is logged with FILE:LINE and the running config stays. */
#ifndef HUB_LOOP_H
#define HUB_LOOP_H

#include "config.h"

/* Run until a stop signal. cfg must come from malloc/calloc: the loop owns
 * it from here on and frees it (or replaces it on reload). Returns the
 * process exit status. */
int loop_run(const char *cfg_path, struct hub_config *cfg);

#endif /* HUB_LOOP_H */
