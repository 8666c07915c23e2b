/* health.h: OPTIONS probes of the peers' hosts, marking each up or down with hysteresis. */
#ifndef SP_PEERING_HEALTH_H
#define SP_PEERING_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/timer.h"
#include "transport/transport.h"
#include "txn/txn.h"

struct sp_health;

/* Every interval_ms each numeric host of every peer gets an OPTIONS (in a
 * client transaction, so UDP retransmits and Timer F bound it). Any
 * response means the host is alive; a timeout or a transport error is a
 * failure. A host goes down after `down_after` failures in a row and up
 * again after `up_after` answers in a row (hysteresis: one lost datagram
 * does not move traffic). Hosts start up. cfg must outlive the prober (a
 * reload makes a new one); listener_of maps a host to the listener its
 * probes leave from (-1: the transport chooses). */
struct sp_health_cfg {
	const struct sp_config *cfg;
	uint32_t interval_ms; /* 0: 10000 */
	unsigned down_after;  /* 0: 3 */
	unsigned up_after;    /* 0: 2 */
};

int sp_health_create(const struct sp_health_cfg *hc, struct sp_timers *timers,
		     struct sp_transport *tp, struct sp_txn_layer *txn, struct sp_health **out);
/* Stops probing; transactions still running finish on their own. */
void sp_health_destroy(struct sp_health *h);

/* Is host `host` of peer `peer` up (sp_router_host_up_h)? */
bool sp_health_host_up(void *h, size_t peer, size_t host);

/* Hosts now down, for the counters. */
size_t sp_health_down_count(const struct sp_health *h);

#endif
