/* conn.c: the connection table: ids, look-up by id and by remote address, per-address counts, idle timers, closing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "io/loop.h"
#include "transport/tpi.h"

static uint64_t addr_key(enum sp_proto proto, const struct sp_sockaddr *a)
{
	return sp_hash_mix(sp_sockaddr_hash(a), (uint64_t)proto);
}

static uint64_t host_key(const struct sp_sockaddr *a)
{
	struct sp_sockaddr h = *a;
	sp_sockaddr_set_port(&h, 0);
	return sp_sockaddr_hash(&h);
}

static struct sp_ipcount *ipcount_find(struct sp_transport *t, const struct sp_sockaddr *a,
				       uint64_t key)
{
	for (struct sp_hnode *n = sp_htab_first(&t->by_ip, key); n; n = sp_htab_next(n)) {
		struct sp_ipcount *ic = (struct sp_ipcount *)n;
		if (sp_sockaddr_eq_host(&ic->host, a))
			return ic;
	}
	return NULL;
}

size_t sp_conn_count_ip(struct sp_transport *t, const struct sp_sockaddr *addr)
{
	struct sp_ipcount *ic = ipcount_find(t, addr, host_key(addr));
	return ic ? ic->n : 0;
}

struct sp_conn *sp_conn_by_id(struct sp_transport *t, uint64_t id)
{
	uint64_t key = sp_hash(&id, sizeof(id));
	for (struct sp_hnode *n = sp_htab_first(&t->by_id, key); n; n = sp_htab_next(n)) {
		struct sp_conn *c = (struct sp_conn *)((char *)n - offsetof(struct sp_conn, by_id));
		if (c->id == id)
			return c;
	}
	return NULL;
}

struct sp_conn *sp_conn_by_addr(struct sp_transport *t, enum sp_proto proto,
				const struct sp_sockaddr *addr)
{
	uint64_t key = addr_key(proto, addr);
	for (struct sp_hnode *n = sp_htab_first(&t->by_addr, key); n; n = sp_htab_next(n)) {
		struct sp_conn *c = (struct sp_conn *)((char *)n - offsetof(struct sp_conn, by_addr));
		if (c->proto == proto && sp_sockaddr_eq(&c->peer, addr))
			return c;
	}
	return NULL;
}

void sp_conn_dest(const struct sp_conn *c, struct sp_dest *out)
{
	out->proto = c->proto;
	out->addr = c->peer;
	out->conn = c->id;
	out->listener = c->listener;
}

/* The idle clock restarts on every read and write; the timer is not moved
 * each time (that would cost a heap operation per message): when it fires
 * early it is re-armed for the real deadline. */
static void idle_cb(struct sp_timer *tm, void *arg)
{
	struct sp_conn *c = arg;
	struct sp_transport *t = c->t;
	uint64_t now = sp_loop_now(t->loop);
	uint64_t due = c->last_io + t->cfg.idle_timeout_ms;
	if (now < due) {
		if (sp_timer_start(sp_loop_timers(t->loop), &c->idle, due, idle_cb, c) == 0)
			return;
	}
	t->st.conns_closed_idle++;
	/* Still connecting after a whole idle period: the peer is not there. */
	sp_conn_close(c, c->state == SP_CONN_OPEN ? 0 : SP_ENOENT, "idle");
}

int sp_conn_new(struct sp_transport *t, int fd, enum sp_proto proto, const struct sp_sockaddr *peer,
		bool incoming, int listener, struct sp_conn **out)
{
	struct sp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return SP_ENOMEM;
	c->t = t;
	c->fd = fd;
	c->proto = proto;
	c->peer = *peer;
	c->incoming = incoming;
	c->listener = listener;
	c->role = listener >= 0 ? t->infos[listener].role : SP_ROLE_ACCESS;
	c->state = SP_CONN_OPEN;
	c->last_io = sp_loop_now(t->loop);
	sp_framer_init(&c->fr, t->cfg.max_stream_msg);
	sp_timer_init(&c->idle);
	if (t->cfg.idle_timeout_ms) {
		int ret = sp_timer_start(sp_loop_timers(t->loop), &c->idle,
					 c->last_io + t->cfg.idle_timeout_ms, idle_cb, c);
		if (ret < 0) {
			free(c);
			return ret;
		}
	}
	if (incoming) {
		uint64_t key = host_key(peer);
		struct sp_ipcount *ic = ipcount_find(t, peer, key);
		if (!ic) {
			ic = calloc(1, sizeof(*ic));
			if (!ic) {
				sp_timer_stop(sp_loop_timers(t->loop), &c->idle);
				free(c);
				return SP_ENOMEM;
			}
			ic->host = *peer;
			sp_htab_insert(&t->by_ip, &ic->node, key);
		}
		ic->n++;
		c->ipc = ic;
	}
	c->id = ++t->next_id;
	sp_htab_insert(&t->by_id, &c->by_id, sp_hash(&c->id, sizeof(c->id)));
	sp_htab_insert(&t->by_addr, &c->by_addr, addr_key(proto, peer));
	t->nconns++;
	t->st.conns_open++;
	*out = c;
	return 0;
}

void sp_conn_update_io(struct sp_conn *c)
{
	unsigned io;
	if (c->dead)
		return;
	if (c->state == SP_CONN_CONNECTING)
		io = SP_IO_WRITE;
	else if (c->state == SP_CONN_HANDSHAKE)
		io = SP_IO_READ | (SSL_want_write(c->ssl) ? SP_IO_WRITE : 0);
	else
		io = SP_IO_READ | (c->wlen > c->woff || c->read_wants_write ? SP_IO_WRITE : 0);
	if (io != c->io && sp_loop_fd_mod(c->t->loop, c->fd, io) == 0)
		c->io = io;
}

static void conn_free(struct sp_conn *c)
{
	sp_tls_conn_free(c);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

void sp_conn_release(struct sp_conn *c)
{
	if (c->dead && !c->busy)
		conn_free(c);
}

/* Leaves every table, the loop and the timer heap, then tells the layer
 * above about messages that will never leave. The memory goes last: a
 * send_error callback may send again (to a new connection), never here. */
void sp_conn_close(struct sp_conn *c, int err, const char *why)
{
	struct sp_transport *t = c->t;
	if (c->dead)
		return;
	c->dead = true;
	char a[SP_SOCKADDR_STRLEN];
	sp_sockaddr_fmt(&c->peer, true, false, a, sizeof(a));
	sp_log(err < 0 ? SP_LOG_INFO : SP_LOG_DEBUG, "%s connection %llu %s %s closed: %s",
	       sp_proto_name(c->proto), (unsigned long long)c->id, c->incoming ? "from" : "to", a,
	       why);
	sp_htab_remove(&t->by_id, &c->by_id);
	sp_htab_remove(&t->by_addr, &c->by_addr);
	if (c->ipc && --c->ipc->n == 0) {
		sp_htab_remove(&t->by_ip, &c->ipc->node);
		free(c->ipc);
	}
	c->ipc = NULL;
	sp_timer_stop(sp_loop_timers(t->loop), &c->idle);
	sp_loop_fd_del(t->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	t->nconns--;
	t->st.conns_open--;
	size_t lost = err < 0 ? c->wmsgs : 0;
	c->wmsgs = 0;
	if (lost && t->h.send_error) {
		struct sp_dest d;
		sp_conn_dest(c, &d);
		t->st.send_errors += lost;
		for (size_t i = 0; i < lost; i++)
			t->h.send_error(t->arg, &d, err);
	}
	sp_conn_release(c);
}

static bool close_one(struct sp_hnode *n, void *arg)
{
	struct sp_conn *c = (struct sp_conn *)((char *)n - offsetof(struct sp_conn, by_id));
	c->busy = false;
	sp_conn_close(c, 0, "transport shut down");
	return true;
}

void sp_conn_close_all(struct sp_transport *t)
{
	sp_htab_foreach(&t->by_id, close_one, NULL);
}
