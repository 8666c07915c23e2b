/* txn_int.h: the transaction layer's private structures, shared by txn.c, server.c and client.c. */
#ifndef SP_TXN_TXN_INT_H
#define SP_TXN_TXN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/timer.h"
#include "txn/txn.h"

#define TXN_COOKIE "z9hG4bK"
#define TXN_COOKIE_LEN 7
#define TXN_DEFAULT_MAX 100000u
/* Timer D for UDP (RFC 3261 section 17.1.1.2: at least 32 s). */
#define TXN_TIMER_D_MS 32000u

/* A slice of the transaction's own request (or response) copy, as offsets so
 * that the copy can live anywhere. len 0 with off 0 is "absent". */
struct txn_slice {
	uint32_t off;
	uint32_t len;
};

struct sp_txn {
	struct sp_hnode node; /* in l->server or l->client */
	struct sp_txn_layer *l;
	bool server;
	bool invite;        /* the request is an INVITE */
	bool rfc3261;       /* server: the branch has the magic cookie */
	bool got_provisional;
	bool cancel_wanted; /* client INVITE: CANCEL waits for a provisional */
	enum sp_txn_state state;
	enum sp_method method_id;
	uint16_t final_status;
	uint16_t sent_by_port;
	uint32_t cseq;
	uint32_t retx_ms;   /* the current interval of Timer A, E or G */
	int err;            /* transport error waiting to be reported */

	/* Keys, in req. */
	struct txn_slice branch, sent_by, method, call_id, from_tag, to_tag, ruri, top_via;
	/* The To tag of the final response sent (RFC 2543 ACK matching), in resp. */
	struct txn_slice resp_to_tag;

	/* Three timers are enough because no state runs more than three at once:
	 * retransmission (A, E, G), giving up (B, F, H) and the end of a state
	 * (D, I, J, K, L, M, and the zero-delay release after Terminated). */
	struct sp_timer t_retx;
	struct sp_timer t_give_up;
	struct sp_timer t_end;

	struct sp_dest dest; /* server: where responses go; client: where the request goes */

	union {
		struct {
			const struct sp_txn_server_h *h;
		} s;
		struct {
			const struct sp_txn_client_h *h;
		} c;
	} u;
	void *arg;

	/* Client INVITE and its CANCEL point at each other while both exist. */
	struct sp_txn *cancel;
	struct sp_txn *cancelled;

	/* server: the last response sent (re-sent on a retransmission);
	 * client INVITE: the ACK of a non-2xx final (re-sent on a retransmission
	 * of that final). */
	char *resp;
	size_t resp_len;

	size_t req_len;
	char req[]; /* the request as received or started */
};

struct sp_txn_layer {
	struct sp_txn_cfg cfg;
	struct sp_timers *timers;
	struct sp_txn_ops ops;
	void *ops_arg;
	struct sp_htab server;
	struct sp_htab client;
	size_t count;
	bool destroying;
	/* sp_txn_request's parse: the transaction it holds, or NULL. */
	struct sp_msg *req_msg;
	const struct sp_txn *req_msg_of;
	/* Parses inside the layer (starting, ACK and CANCEL building); never
	 * held across a TU callback. */
	struct sp_msg *scratch;
	struct sp_log_ratelimit rl;
};

static inline struct sp_str txn_str(const char *base, struct txn_slice s)
{
	return sp_str_make(s.len ? base + s.off : NULL, s.len);
}

static inline struct txn_slice txn_slice_of(const char *base, struct sp_str s)
{
	struct txn_slice r = { 0, 0 };
	if (s.p && s.len) {
		r.off = (uint32_t)(s.p - base);
		r.len = (uint32_t)s.len;
	}
	return r;
}

static inline uint64_t txn_now(const struct sp_txn_layer *l)
{
	return l->ops.now(l->ops_arg);
}

bool txn_has_cookie(struct sp_str branch);
bool txn_method_eq(const struct sp_txn *t, enum sp_method id, struct sp_str name);
/* Allocates a transaction holding a copy of buf[0..len), its timers
 * initialised; counts it against max_txns. */
int txn_alloc(struct sp_txn_layer *l, const char *buf, size_t len, struct sp_txn **out);
/* Frees a transaction that was never linked (creation failed). */
void txn_discard(struct sp_txn *t);
/* Frees a linked transaction: destroyed(), then unlinks and frees. */
void txn_free(struct sp_txn *t);
/* Moves to Terminated and frees from a zero-delay timer. */
void txn_terminate(struct sp_txn *t);
/* Starts timer tm at now + ms; logs a failure (the heap is full). */
void txn_arm(struct sp_txn *t, struct sp_timer *tm, uint64_t ms, sp_timer_h cb);
int txn_send(struct sp_txn *t, const char *buf, size_t len);
int txn_store_resp(struct sp_txn *t, const char *buf, size_t len);
/* Parses buf[0..len) into the layer's scratch message. */
int txn_parse_scratch(struct sp_txn_layer *l, const char *buf, size_t len, struct sp_msg **out);

#endif
