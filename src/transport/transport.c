/* transport.c: the public transport API: create and destroy, listeners, sending, statistics. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "io/loop.h"
#include "transport/tpi.h"

/* Defaults for caps left at 0 in the configuration. */
#define SP_DEF_MAX_CONNS 4096
#define SP_DEF_MAX_CONNS_PER_IP 64
#define SP_DEF_PENDING_OUT (1u << 20)

int sp_transport_create(struct sp_loop *loop, const struct sp_transport_cfg *cfg,
			const struct sp_transport_h *h, void *arg, struct sp_transport **out)
{
	int ret = SP_ENOMEM;
	if (!h || !h->rx)
		return SP_EINVAL;
	struct sp_transport *t = calloc(1, sizeof(*t));
	if (!t)
		return SP_ENOMEM;
	t->loop = loop;
	t->cfg = *cfg;
	t->cfg.listen = NULL;
	if (!t->cfg.max_conns)
		t->cfg.max_conns = SP_DEF_MAX_CONNS;
	if (!t->cfg.max_conns_per_ip)
		t->cfg.max_conns_per_ip = SP_DEF_MAX_CONNS_PER_IP;
	if (!t->cfg.max_stream_msg)
		t->cfg.max_stream_msg = SP_FRAMER_DEFAULT_MAX;
	if (!t->cfg.max_pending_out)
		t->cfg.max_pending_out = SP_DEF_PENDING_OUT;
	t->h = *h;
	t->arg = arg;
	t->rl_cap.interval_ms = t->rl_frame.interval_ms = 1000;
	t->rl_icmp.interval_ms = t->rl_tls.interval_ms = t->rl_io.interval_ms = 1000;
	sp_htab_init(&t->by_id);
	sp_htab_init(&t->by_addr);
	sp_htab_init(&t->by_ip);
	t->nls = cfg->nlisten;
	if (t->nls) {
		t->ls = calloc(t->nls, sizeof(*t->ls));
		t->infos = calloc(t->nls, sizeof(*t->infos));
		if (!t->ls || !t->infos)
			goto out;
	}
	for (size_t i = 0; i < t->nls; i++) {
		t->ls[i].fd = -1;
		t->ls[i].t = t;
		t->ls[i].index = (int)i;
		t->ls[i].info = &t->infos[i];
		t->infos[i].proto = cfg->listen[i].proto;
		t->infos[i].role = cfg->listen[i].role;
		t->infos[i].addr = cfg->listen[i].addr;
	}
	/* The client context exists whenever TLS files are given, so TLS can
	 * go out without a tls listener; the server one only for listeners. */
	bool tls_listener = false;
	for (size_t i = 0; i < t->nls; i++)
		tls_listener |= t->infos[i].proto == SP_PROTO_TLS;
	if (tls_listener || cfg->tls_cert || cfg->tls_ca || cfg->ntls_extra_ca) {
		ret = sp_tls_init(t, tls_listener);
		if (ret < 0)
			goto out;
	}
	/* The file names were for loading only: the caller may free them. */
	t->cfg.tls_cert = t->cfg.tls_key = t->cfg.tls_ca = NULL;
	t->cfg.tls_extra_ca = NULL;
	t->cfg.ntls_extra_ca = 0;
	for (size_t i = 0; i < t->nls; i++) {
		struct sp_listener *l = &t->ls[i];
		int fam = l->info->addr.u.sa.sa_family;
		char a[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&l->info->addr, true, false, a, sizeof(a));
		if (fam != AF_INET && fam != AF_INET6)
			ret = SP_EINVAL;
		else if (l->info->proto == SP_PROTO_UDP)
			ret = sp_udp_open(t, l);
		else
			ret = sp_stream_listen(t, l);
		if (ret < 0) {
			sp_log(SP_LOG_ERR, "cannot listen on %s %s", sp_proto_name(l->info->proto), a);
			goto out;
		}
		sp_sockaddr_fmt(&l->info->addr, true, false, a, sizeof(a));
		sp_log(SP_LOG_INFO, "listening on %s %s (%s)", sp_proto_name(l->info->proto), a,
		       l->info->role == SP_ROLE_PEERING ? "peering" : "access");
	}
	*out = t;
	return 0;
out:
	sp_transport_destroy(t);
	return ret;
}

void sp_transport_destroy(struct sp_transport *t)
{
	if (!t)
		return;
	sp_conn_close_all(t);
	for (size_t i = 0; t->ls && i < t->nls; i++) {
		if (t->ls[i].fd >= 0) {
			sp_loop_fd_del(t->loop, t->ls[i].fd);
			close(t->ls[i].fd);
		}
	}
	sp_udp_free(t);
	sp_tls_fini(t);
	sp_htab_free(&t->by_id);
	sp_htab_free(&t->by_addr);
	sp_htab_free(&t->by_ip);
	free(t->ls);
	free(t->infos);
	free(t);
}

int sp_transport_pick_listener(const struct sp_transport *t, const struct sp_dest *dst)
{
	int other = -1;
	if (dst->listener >= 0 && (size_t)dst->listener < t->nls)
		return dst->listener;
	/* Traffic that names no listener is this provider's own (a user's
	 * contact, a fixed route): an access listener first; what goes to
	 * other providers names its peering listener. */
	for (size_t i = 0; i < t->nls; i++) {
		if (t->infos[i].proto == dst->proto &&
		    t->infos[i].addr.u.sa.sa_family == dst->addr.u.sa.sa_family) {
			if (t->infos[i].role == SP_ROLE_ACCESS)
				return (int)i;
			if (other < 0)
				other = (int)i;
		}
	}
	return other;
}

int sp_transport_send(struct sp_transport *t, const struct sp_dest *dst, const char *buf,
		      size_t len)
{
	if (dst->proto == SP_PROTO_UDP) {
		int li = sp_transport_pick_listener(t, dst);
		if (li < 0 || t->infos[li].proto != SP_PROTO_UDP ||
		    t->infos[li].addr.u.sa.sa_family != dst->addr.u.sa.sa_family)
			return SP_ENOENT;
		return sp_udp_send(t, li, dst, buf, len);
	}
	if (dst->proto != SP_PROTO_TCP && dst->proto != SP_PROTO_TLS)
		return SP_EINVAL;
	return sp_stream_send(t, dst, buf, len);
}

void sp_transport_batch_begin(struct sp_transport *t)
{
	t->batch_depth++;
}

void sp_transport_batch_end(struct sp_transport *t)
{
	if (t->batch_depth && --t->batch_depth == 0)
		sp_udp_flush(t);
}

size_t sp_transport_listeners(const struct sp_transport *t, const struct sp_listener_info **out)
{
	*out = t->infos;
	return t->nls;
}

const struct sp_transport_stats *sp_transport_stats(const struct sp_transport *t)
{
	return &t->st;
}
