/* health.c: OPTIONS probes of the peers' hosts and their up/down state. */
#include "peering/health.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/err.h"
#include "core/log.h"

struct host_state {
	bool up;
	bool busy;        /* a probe is out */
	unsigned streak;  /* answers (when down) or failures (when up) in a row */
};

/* One probe in flight. It outlives the prober when a reload replaces it:
 * h is then NULL and the transaction's end only frees the probe. */
struct probe {
	struct sp_health *h;
	size_t peer, host;
	struct probe *next;
	bool ended;
};

struct sp_health {
	struct sp_health_cfg hc;
	struct sp_timers *timers;
	struct sp_transport *tp;
	struct sp_txn_layer *txn;
	struct sp_timer tick;
	struct host_state **state; /* [peer][host] */
	struct probe *probes;      /* in flight */
	uint64_t seq;
	char tag[17];
};

static void note(struct sp_health *h, size_t p, size_t i, bool ok, const char *why)
{
	struct host_state *s = &h->state[p][i];
	const struct sp_config_peer *peer = &h->hc.cfg->peers[p];
	if (ok == s->up) {
		s->streak = 0;
		return;
	}
	s->streak++;
	if (s->streak < (ok ? h->hc.up_after : h->hc.down_after))
		return;
	s->up = ok;
	s->streak = 0;
	sp_log(ok ? SP_LOG_NOTICE : SP_LOG_WARN, "peer %s: host %s is %s%s%s", peer->name,
	       peer->hosts[i].uri, ok ? "up again" : "down", ok ? "" : ": ", ok ? "" : why);
}

static void unlink_probe(struct probe *pr)
{
	if (!pr->h)
		return;
	for (struct probe **pp = &pr->h->probes; *pp; pp = &(*pp)->next)
		if (*pp == pr) {
			*pp = pr->next;
			break;
		}
}

static void end_probe(struct probe *pr, bool ok, const char *why)
{
	if (pr->ended)
		return;
	pr->ended = true;
	if (pr->h) {
		pr->h->state[pr->peer][pr->host].busy = false;
		note(pr->h, pr->peer, pr->host, ok, why);
	}
}

static void on_response(void *arg, struct sp_txn *ct, struct sp_msg *resp)
{
	if (resp->status >= 200) /* any final answer: the host is alive */
		end_probe(arg, true, NULL);
}

static void on_timeout(void *arg, struct sp_txn *ct)
{
	end_probe(arg, false, "no answer to OPTIONS");
}

static void on_error(void *arg, struct sp_txn *ct, int err)
{
	end_probe(arg, false, "transport error");
}

static void on_destroyed(void *arg, struct sp_txn *ct)
{
	struct probe *pr = arg;
	end_probe(pr, false, "no answer");
	unlink_probe(pr);
	free(pr);
}

static const struct sp_txn_client_h probe_h = {
	.response = on_response,
	.timeout = on_timeout,
	.transport_error = on_error,
	.destroyed = on_destroyed,
};

static void probe(struct sp_health *h, size_t p, size_t i)
{
	const struct sp_config_host *host = &h->hc.cfg->peers[p].hosts[i];
	const struct sp_listener_info *l;
	struct sp_dest dst;
	char buf[1024], via[SP_SOCKADDR_STRLEN], target[SP_SOCKADDR_STRLEN];
	struct sp_txn *ct;

	memset(&dst, 0, sizeof(dst));
	dst.proto = host->proto;
	dst.addr = host->addr;
	dst.listener = sp_config_peering_listener(h->hc.cfg, host->proto, host->addr.u.sa.sa_family);
	int li = sp_transport_pick_listener(h->tp, &dst);
	if (li < 0)
		return;
	sp_transport_listeners(h->tp, &l);
	sp_sockaddr_fmt(&l[li].addr, true, false, via, sizeof(via));
	sp_sockaddr_fmt(&host->addr, true, false, target, sizeof(target));
	const char *tp = host->proto == SP_PROTO_UDP ? "" :
			 host->proto == SP_PROTO_TCP ? ";transport=tcp" : ";transport=tls";
	uint64_t n = ++h->seq;
	int len = snprintf(buf, sizeof(buf),
			   "OPTIONS sip:%s%s SIP/2.0\r\n"
			   "Via: SIP/2.0/%s %s;branch=z9hG4bK-probe-%s-%" PRIu64 "\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:sipeer@%s>;tag=%s\r\n"
			   "To: <sip:%s>\r\n"
			   "Call-ID: probe-%s-%" PRIu64 "\r\n"
			   "CSeq: %" PRIu64 " OPTIONS\r\n"
			   "User-Agent: sipeer\r\n"
			   "Content-Length: 0\r\n\r\n",
			   target, tp, sp_proto_name(host->proto), via, h->tag, n, via, h->tag, target,
			   h->tag, n, n % 2000000000u + 1);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return;
	struct probe *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return;
	pr->h = h;
	pr->peer = p;
	pr->host = i;
	h->state[p][i].busy = true;
	pr->next = h->probes;
	h->probes = pr;
	if (sp_txn_client_start(h->txn, buf, (size_t)len, &dst, &probe_h, pr, &ct) != 0) {
		/* Not started: no callback will come. */
		h->state[p][i].busy = false;
		unlink_probe(pr);
		free(pr);
	}
}

static void on_tick(struct sp_timer *t, void *arg)
{
	struct sp_health *h = arg;
	const struct sp_config *cfg = h->hc.cfg;
	for (size_t p = 0; p < cfg->peer_count; p++)
		for (size_t i = 0; i < cfg->peers[p].host_count; i++)
			if (cfg->peers[p].hosts[i].numeric && !h->state[p][i].busy)
				probe(h, p, i);
	sp_timer_start(h->timers, &h->tick, sp_now_ms() + h->hc.interval_ms, on_tick, h);
}

int sp_health_create(const struct sp_health_cfg *hc, struct sp_timers *timers,
		     struct sp_transport *tp, struct sp_txn_layer *txn, struct sp_health **out)
{
	struct sp_health *h = calloc(1, sizeof(*h));
	const struct sp_config *cfg = hc->cfg;
	uint8_t rnd[8];
	if (!h)
		return SP_ENOMEM;
	h->hc = *hc;
	if (!h->hc.interval_ms)
		h->hc.interval_ms = 10000;
	if (!h->hc.down_after)
		h->hc.down_after = 3;
	if (!h->hc.up_after)
		h->hc.up_after = 2;
	h->timers = timers;
	h->tp = tp;
	h->txn = txn;
	sp_timer_init(&h->tick);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(h->tag + 2 * i, 3, "%02x", rnd[i]);
	h->state = calloc(cfg->peer_count ? cfg->peer_count : 1, sizeof(*h->state));
	if (!h->state) {
		free(h);
		return SP_ENOMEM;
	}
	bool any = false;
	for (size_t p = 0; p < cfg->peer_count; p++) {
		size_t n = cfg->peers[p].host_count;
		h->state[p] = calloc(n ? n : 1, sizeof(**h->state));
		if (!h->state[p]) {
			sp_health_destroy(h);
			return SP_ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			h->state[p][i].up = true;
			any |= cfg->peers[p].hosts[i].numeric;
		}
	}
	/* The first round soon after start, not at once: the listeners and
	 * the peers' own start may still be settling. */
	if (any && timers)
		sp_timer_start(timers, &h->tick, sp_now_ms() + 500, on_tick, h);
	*out = h;
	return 0;
}

void sp_health_destroy(struct sp_health *h)
{
	if (!h)
		return;
	if (h->timers)
		sp_timer_stop(h->timers, &h->tick);
	for (struct probe *pr = h->probes; pr; pr = pr->next)
		pr->h = NULL;
	for (size_t p = 0; h->state && p < h->hc.cfg->peer_count; p++)
		free(h->state[p]);
	free(h->state);
	free(h);
}

bool sp_health_host_up(void *arg, size_t peer, size_t host)
{
	struct sp_health *h = arg;
	if (!h || peer >= h->hc.cfg->peer_count || host >= h->hc.cfg->peers[peer].host_count)
		return true;
	return h->state[peer][host].up;
}

size_t sp_health_down_count(const struct sp_health *h)
{
	size_t n = 0;
	for (size_t p = 0; h && p < h->hc.cfg->peer_count; p++)
		for (size_t i = 0; i < h->hc.cfg->peers[p].host_count; i++)
			n += !h->state[p][i].up;
	return n;
}
