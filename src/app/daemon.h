/* daemon.h: running sipeer: one worker loop with its transports, transactions, proxy, registrar and store. */
#ifndef SP_APP_DAEMON_H
#define SP_APP_DAEMON_H

#include "config/config.h"

/* Runs the daemon in the foreground on cfg until SIGTERM or SIGINT, then
 * stops gracefully and returns the exit status. path (NULL for the
 * built-in configuration) is re-read on SIGHUP. Takes ownership of cfg. */
int sp_daemon_run(struct sp_config *cfg, const char *path);

#endif
