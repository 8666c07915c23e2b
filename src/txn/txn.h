/* txn.h: RFC 3261 section 17 transactions (with RFC 6026) of one worker: server and client, INVITE and non-INVITE. */
#ifndef SP_TXN_TXN_H
#define SP_TXN_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "core/timer.h"
#include "sip/msg.h"
#include "transport/tp.h"

/* A transaction layer belongs to one worker: its tables, its timers (the
 * worker loop's heap, or a test's heap driven by a fake clock), its caps.
 * It sends through ops->send and never touches sockets. */
struct sp_txn_layer;
struct sp_txn;

struct sp_txn_ops {
	/* Sends bytes to dst; returns 0 or a negative SP_E* (the client
	 * transaction then reports a transport error). */
	int (*send)(void *arg, const struct sp_dest *dst, const char *buf, size_t len);
	/* The current time in ms on the clock of the timer heap. */
	uint64_t (*now)(void *arg);
};

struct sp_txn_cfg {
	uint32_t t1_ms;     /* default 500 */
	uint32_t t2_ms;     /* default 4000 */
	uint32_t t4_ms;     /* default 5000 */
	size_t max_txns;    /* server and client together; 0: 100000 */
};

int sp_txn_layer_create(const struct sp_txn_cfg *cfg, struct sp_timers *timers,
			const struct sp_txn_ops *ops, void *ops_arg, struct sp_txn_layer **out);
/* Destroys every transaction (their handlers' destroyed() are called) and the layer. */
void sp_txn_layer_destroy(struct sp_txn_layer *l);
size_t sp_txn_count(const struct sp_txn_layer *l);

/* The states of figures 5-8 of RFC 3261 with the Accepted state of RFC 6026.
 * Calling is the INVITE client's first state, Trying the non-INVITE's
 * (client and server); an INVITE server transaction starts in Proceeding.
 * Terminated: the transaction is ignored by matching and is freed by a
 * zero-delay timer (never inside an API call). */
enum sp_txn_state {
	SP_TXN_CALLING = 1,
	SP_TXN_TRYING,
	SP_TXN_PROCEEDING,
	SP_TXN_COMPLETED,
	SP_TXN_CONFIRMED,
	SP_TXN_ACCEPTED,
	SP_TXN_TERMINATED,
};
enum sp_txn_state sp_txn_state(const struct sp_txn *t);

/* ---- Server transactions ---------------------------------------------- */

enum sp_txn_match {
	SP_TXN_NEW = 1,        /* a new server transaction was created: the TU handles the request */
	SP_TXN_ABSORBED,       /* a retransmission (the last response was re-sent) or the ACK of a
				* non-2xx final: nothing more to do */
	SP_TXN_ACK_STRAY,      /* an ACK that matches no transaction in Completed: the ACK of a
				* 2xx, to be routed by the TU (proxied statelessly) */
};

/* Handlers the TU attaches to a server transaction (sp_txn_server_set_handler). */
struct sp_txn_server_h {
	/* The transaction is about to be freed (Terminated, or the layer is
	 * destroyed): forget every pointer to it. */
	void (*destroyed)(void *arg, struct sp_txn *st);
	/* Added: Timer H fired (an INVITE's non-2xx final was never ACKed,
	 * section 17.2.1: "a transaction failure"); destroyed() follows at
	 * once. May be NULL. */
	void (*timeout)(void *arg, struct sp_txn *st);
};

/* Matches req (parsed; its buffer is valid during the call) against the
 * server transactions (section 17.2.3: top Via branch with the magic cookie
 * and sent-by, method, CANCEL separately; RFC 2543 fallback on Request-URI,
 * To tag, From tag, Call-ID, CSeq and top Via otherwise). On SP_TXN_NEW the
 * transaction keeps a heap copy of the request bytes and *out is set; for an
 * INVITE it has already sent 100 Trying (RFC 3261 section 16.2 / 17.2.1)
 * to the response destination. Returns a positive enum sp_txn_match, or
 * SP_E2BIG when max_txns is reached (the TU answers 503 statelessly),
 * SP_EINVAL when the request lacks what matching needs, SP_ENOMEM.
 * *out is also set to the matched transaction on SP_TXN_ABSORBED, and on
 * SP_TXN_ACK_STRAY when the ACK matched an INVITE in Accepted (RFC 6026
 * passes it to the TU); it is left alone otherwise. In Accepted, a
 * retransmitted INVITE is absorbed without a response (RFC 6026 section 8.5);
 * in Confirmed, retransmissions are absorbed silently. */
int sp_txn_server_recv(struct sp_txn_layer *l, struct sp_msg *req, const struct sp_dest *src,
		       struct sp_txn **out);
void sp_txn_server_set_handler(struct sp_txn *st, const struct sp_txn_server_h *h, void *arg);
/* The INVITE server transaction a CANCEL request cancels (section 9.2: same
 * matching rules as the CANCEL, with method INVITE), or NULL. */
struct sp_txn *sp_txn_server_find_invite(struct sp_txn_layer *l, struct sp_msg *cancel);
/* Sends a response (complete bytes, built by the TU) and moves the state
 * machine: 1xx keeps Proceeding; 2xx to an INVITE moves to Accepted (RFC
 * 6026, Timer L); other finals move to Completed (Timers G over UDP, H; J
 * for non-INVITE). The final response is kept for retransmission. A
 * response after the final one is refused (SP_EINVAL), except further 2xx
 * to an INVITE in Accepted, which are sent. */
int sp_txn_server_reply(struct sp_txn *st, uint16_t status, const char *buf, size_t len);
/* The request as received (the transaction's copy), parsed on demand into a
 * message the layer owns: the pointer is valid until the next call to
 * sp_txn_request on the same layer or the transaction's release, whichever
 * comes first (transactions keep bytes, not a parsed message). NULL only on
 * a bug. The caller may use the lazy accessors on it, never free it. */
struct sp_msg *sp_txn_request(struct sp_txn *t);
/* Where responses go (section 18.2.2 with RFC 3581), computed from the
 * request's top Via and its source. */
const struct sp_dest *sp_txn_response_dest(const struct sp_txn *st);
/* The final status sent or received so far, 0 when none. */
uint16_t sp_txn_final_status(const struct sp_txn *t);
/* Section 18.2.2 with RFC 3581, for stateless responses too: reliable ->
 * the source connection; maddr -> maddr at the sent-by port; rport ->
 * source address and port; else received (the source address) at the
 * sent-by port (5060, or 5061 for TLS). */
int sp_txn_response_dest_for(const struct sp_via *via, const struct sp_dest *src,
			     struct sp_dest *out);

/* ---- Client transactions ---------------------------------------------- */

struct sp_txn_client_h {
	/* A response for this transaction: every provisional, the first final
	 * of a non-INVITE, the first non-2xx final of an INVITE (its ACK has
	 * already been sent by the transaction), and every 2xx to an INVITE
	 * (retransmissions included: RFC 6026 Accepted). resp and its buffer are
	 * valid during the call only. */
	void (*response)(void *arg, struct sp_txn *ct, struct sp_msg *resp);
	/* Timer B or F fired before any final response. */
	void (*timeout)(void *arg, struct sp_txn *ct);
	/* Sending the request failed, at once or later (send_error, ICMP). */
	void (*transport_error)(void *arg, struct sp_txn *ct, int err);
	/* The transaction is about to be freed: forget every pointer to it. */
	void (*destroyed)(void *arg, struct sp_txn *ct);
};

/* Starts a client transaction for a request the TU built completely (its
 * top Via carries a branch that starts with z9hG4bK and is unique). The
 * layer copies buf, parses its copy, sends it to dst and runs the timers
 * (A/E retransmit over UDP only; B/F time out). A transport error from the
 * first send is reported through transport_error from a zero-delay timer,
 * never from inside this call. Returns 0 with *out set, SP_E2BIG (max_txns),
 * SP_EINVAL (buf does not parse or has no branch), SP_ENOMEM. */
int sp_txn_client_start(struct sp_txn_layer *l, const char *buf, size_t len,
			const struct sp_dest *dst, const struct sp_txn_client_h *h, void *arg,
			struct sp_txn **out);
/* Matches a response (section 17.1.3: top Via branch and CSeq method) and
 * feeds it to its client transaction. Returns 0 when matched (absorbed or
 * passed to the handler), SP_ENOENT when it matches nothing (the TU may
 * forward it statelessly: RFC 3261 section 16.7 / 16.11). */
int sp_txn_client_recv(struct sp_txn_layer *l, struct sp_msg *resp, const struct sp_dest *src);
/* Cancels a pending INVITE client transaction (section 9.1): builds the
 * CANCEL from the INVITE (Request-URI, Call-ID, To, From, CSeq number, the
 * top Via, Route headers) and sends it in its own non-INVITE client
 * transaction as soon as a provisional response has arrived (at once if one
 * has). Nothing happens when a final response has arrived. Idempotent. If no
 * provisional ever arrives, the INVITE transaction times out as usual.
 * Returns SP_EINVAL for anything but an INVITE client transaction, the
 * error of starting the CANCEL transaction when it goes at once (SP_E2BIG,
 * SP_ENOMEM; a deferred one that fails is logged), else 0. The CANCEL's own
 * responses, timeout and transport errors are absorbed by the layer. */
int sp_txn_client_cancel(struct sp_txn *ct);
/* The transport said sending to dst failed (sp_transport_h.send_error):
 * every client transaction waiting on dst (no final response yet; same
 * connection id when both have one, else same protocol, address and port)
 * moves to Terminated and reports transport_error from a zero-delay timer. */
void sp_txn_transport_error(struct sp_txn_layer *l, const struct sp_dest *dst, int err);
const struct sp_dest *sp_txn_client_dest(const struct sp_txn *ct);

#endif
