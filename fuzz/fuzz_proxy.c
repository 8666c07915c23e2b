/* fuzz_proxy.c: libFuzzer harness for the proxy core: arbitrary datagrams through parsing, transactions, Route processing, forwarding and replies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/timer.h"
#include "io/loop.h"
#include "proxy/proxy.h"
#include "transport/transport.h"
#include "txn/txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One loop and one transport for the whole run (binding sockets per input
 * would dominate); a fresh transaction layer and proxy per input, so every
 * input starts clean and everything it created is freed at its end. */
static struct sp_loop *loop;
static struct sp_transport *tp;
/* Transactions and Timer C run on the harness's own heap and clock, which
 * the harness moves forward in steps (a frozen clock would let a
 * retransmission timer re-arm forever before its transaction's timeout). */
static struct sp_timers heap;
static uint64_t clock_ms;

static void tp_rx(void *arg, const struct sp_rx *rx)
{
}

static int txn_send(void *arg, const struct sp_dest *dst, const char *buf, size_t len)
{
	return sp_transport_send(tp, dst, buf, len);
}

static uint64_t txn_now(void *arg)
{
	return clock_ms;
}

/* The decision step: the first byte of the input (the rest is the
 * datagram) picks an answer, targets
 * (to a discard port on loopback: nothing answers), a kept request, or
 * asserted identity, so each path of the proxy gets inputs. */
static int on_request(void *arg, struct sp_proxy_req *r)
{
	unsigned mode = *(const unsigned *)arg;
	switch (mode % 4) {
	case 0:
		return sp_proxy_reply(r, 404, NULL, NULL, 0);
	case 1: {
		sp_proxy_req_identity(r, true, "<sip:alice@sipeer.test>", NULL, "sipeer.test");
		/* Bit 4: the first target is a peer's host, reached by the peering
		 * listener (topology hiding, privacy, failover rules). */
		struct sp_dest peer;
		memset(&peer, 0, sizeof(peer));
		peer.proto = SP_PROTO_UDP;
		peer.listener = 1;
		sp_sockaddr_from_host(SP_STR("127.0.0.1"), 9, &peer.addr);
		struct sp_proxy_target t = {
			.uri = SP_STR("sip:+4722000001@ssp-b.test;user=phone"),
			.dst = (mode & 16) ? &peer : NULL,
			.flags = (mode & 16) ? SP_PROXY_T_FAILOVER | SP_PROXY_T_FOREIGN |
						       SP_PROXY_T_UNTRUSTED : 0,
			.tag = 17,
		};
		sp_proxy_target_add_ex(r, &t);
		return sp_proxy_target_add(r, SP_STR("sip:bob@127.0.0.1:19"), SP_STR("<sip:127.0.0.1:9;lr>"),
					   NULL, 1);
	}
	case 2:
		return sp_proxy_target_add(r, SP_STR_NULL, SP_STR_NULL, NULL, 0);
	default: {
		struct sp_proxy_pending *pp = sp_proxy_req_keep(r);
		if (pp)
			sp_proxy_reply_later(pp, 200, NULL, NULL, 0);
		return SP_EAGAIN;
	}
	}
}

/* Bit 8 of the mode byte: the request arrives on the peering side;
 * bit 32 admits it (as a peer), else it is dropped unless it follows one
 * of our dialogs. */
static int on_admit(void *arg, const struct sp_rx *rx, uint32_t *origin)
{
	unsigned mode = *(const unsigned *)arg;
	*origin = (mode & 32) ? 0x80000001u : 0;
	return (mode & 32) ? SP_PROXY_ADMIT : (mode & 64) ? SP_PROXY_REJECT : SP_PROXY_DROP;
}

static void on_final(void *arg, struct sp_str call_id, uint16_t status, uint32_t egress)
{
}

static void on_bye(void *arg, struct sp_str call_id)
{
}

static int setup(void)
{
	static struct sp_listen_spec ls[2];
	struct sp_transport_cfg tc;
	static const struct sp_transport_h th = { .rx = tp_rx };
	/* Each input has a fresh proxy, so its once-per-interval log lines
	 * would print for every input: errors only. */
	sp_log_set_level(SP_LOG_ERR);
	if (sp_loop_create(100000, &loop) != 0)
		return -1;
	memset(ls, 0, sizeof(ls));
	for (int i = 0; i < 2; i++) {
		ls[i].proto = SP_PROTO_UDP;
		ls[i].role = i ? SP_ROLE_PEERING : SP_ROLE_ACCESS;
		if (sp_sockaddr_from_host(SP_STR("127.0.0.1"), 0, &ls[i].addr) != 0)
			return -1;
	}
	memset(&tc, 0, sizeof(tc));
	tc.listen = ls;
	tc.nlisten = 2;
	return sp_transport_create(loop, &tc, &th, NULL, &tp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sp_txn_layer *txn;
	struct sp_proxy *proxy;
	struct sp_txn_cfg xc = { .max_txns = 64 };
	struct sp_txn_ops xo = { .send = txn_send, .now = txn_now };
	struct sp_proxy_h ph = { .request = on_request, .admit = on_admit,
				 .invite_final = on_final, .bye = on_bye };
	static const char *const domains[] = { "sipeer.test" };
	struct sp_proxy_cfg pc = { .domains = domains, .ndomains = 1, .secret = "fuzz-secret-0123456789",
				   .timers = NULL, .timer_c_ms = 1000 };
	unsigned mode = size ? data[0] : 0;

	if (size) {
		data++;
		size--;
	}

	if (!ready) {
		if (setup() != 0)
			abort();
		ready = 1;
	}
	/* Timer C is armed on sp_now_ms(): start the clock there. */
	clock_ms = sp_now_ms();
	sp_timers_init(&heap, 100000);
	pc.timers = &heap;
	if (sp_txn_layer_create(&xc, &heap, &xo, NULL, &txn) != 0)
		return 0;
	if (sp_proxy_create(&pc, tp, txn, &ph, &mode, &proxy) != 0) {
		sp_txn_layer_destroy(txn);
		return 0;
	}
	/* The input is a datagram from a caller on loopback; a private copy of
	 * exactly its bytes, so ASan sees any overread. */
	char *buf = malloc(size ? size : 1);
	if (buf) {
		struct sp_rx rx;
		memset(&rx, 0, sizeof(rx));
		memcpy(buf, data, size);
		rx.buf = buf;
		rx.len = size;
		rx.src.proto = SP_PROTO_UDP;
		rx.src.listener = (mode & 8) ? 1 : 0;
		rx.role = (mode & 8) ? SP_ROLE_PEERING : SP_ROLE_ACCESS;
		sp_sockaddr_from_host(SP_STR("127.0.0.1"), 5999, &rx.src.addr);
		sp_proxy_rx(proxy, &rx);
		/* The same bytes again: a retransmission. */
		sp_proxy_rx(proxy, &rx);
		/* Every timer the input started: Timer C, retransmissions, B/F,
		 * the serial branch after them; 100 s in half-second steps. */
		for (int i = 0; i < 200; i++) {
			clock_ms += 500;
			sp_timers_run(&heap, clock_ms);
		}
		free(buf);
	}
	sp_txn_layer_destroy(txn);
	sp_proxy_destroy(proxy);
	sp_timers_free(&heap);
	return 0;
}
