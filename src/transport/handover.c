/* handover.c: one heap block per handed-over message (rx, bytes, TLS names), posted to the owner's loop. */
#include "transport/handover.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

#define MAX_WORKERS 64
#define MAX_SAN 16

struct worker_slot {
	struct sp_loop *loop;
	sp_handover_h h;
	void *arg;
	_Atomic size_t queued; /* bytes posted and not yet delivered */
};

struct sp_workers {
	unsigned n;
	size_t max_queued;
	struct worker_slot w[MAX_WORKERS];
};

/* The copy: the struct first, then the SAN pointers, then every string. */
struct handed {
	struct sp_workers *ws;
	unsigned to;
	size_t size;
	struct sp_rx rx;
	struct sp_tls_peer tls;
	const char *san[MAX_SAN];
	char data[];
};

int sp_workers_create(unsigned n, size_t max_queued, struct sp_workers **out)
{
	struct sp_workers *ws;
	if (n == 0 || n > MAX_WORKERS)
		return SP_EINVAL;
	if (!(ws = calloc(1, sizeof(*ws))))
		return SP_ENOMEM;
	ws->n = n;
	ws->max_queued = max_queued ? max_queued : (size_t)16 << 20;
	*out = ws;
	return 0;
}

void sp_workers_destroy(struct sp_workers *ws)
{
	free(ws);
}

void sp_workers_set(struct sp_workers *ws, unsigned i, struct sp_loop *loop, sp_handover_h h,
		    void *arg)
{
	if (i >= ws->n)
		return;
	ws->w[i].loop = loop;
	ws->w[i].h = h;
	ws->w[i].arg = arg;
}

unsigned sp_workers_count(const struct sp_workers *ws)
{
	return ws->n;
}

unsigned sp_workers_owner(const struct sp_workers *ws, struct sp_str call_id)
{
	return ws->n == 1 ? 0 : (unsigned)(sp_hash_str(call_id) % ws->n);
}

static void deliver(void *arg)
{
	struct handed *m = arg;
	struct worker_slot *w = &m->ws->w[m->to];
	w->h(w->arg, &m->rx);
	atomic_fetch_sub(&w->queued, m->size);
	free(m);
}

int sp_handover(struct sp_workers *ws, unsigned to, const struct sp_rx *rx)
{
	struct worker_slot *w;
	struct handed *m;
	size_t size = sizeof(*m) + rx->len, nsan = 0, off;
	int err;

	if (to >= ws->n || !ws->w[to].loop || !ws->w[to].h)
		return SP_EINVAL;
	w = &ws->w[to];
	if (rx->tls) {
		nsan = rx->tls->nsan < MAX_SAN ? rx->tls->nsan : MAX_SAN;
		for (size_t i = 0; i < nsan; i++)
			size += strlen(rx->tls->san[i]) + 1;
	}
	/* Reserve the bytes first: the cap holds however many threads post. */
	if (atomic_fetch_add(&w->queued, size) + size > ws->max_queued) {
		atomic_fetch_sub(&w->queued, size);
		return SP_E2BIG;
	}
	if (!(m = malloc(size))) {
		atomic_fetch_sub(&w->queued, size);
		return SP_ENOMEM;
	}
	m->ws = ws;
	m->to = to;
	m->size = size;
	m->rx = *rx;
	memcpy(m->data, rx->buf, rx->len);
	m->rx.buf = m->data;
	off = rx->len;
	if (rx->tls) {
		for (size_t i = 0; i < nsan; i++) {
			size_t l = strlen(rx->tls->san[i]) + 1;
			memcpy(m->data + off, rx->tls->san[i], l);
			m->san[i] = m->data + off;
			off += l;
		}
		m->tls.san = m->san;
		m->tls.nsan = nsan;
		m->tls.ca = rx->tls->ca;
		m->rx.tls = &m->tls;
	}
	if ((err = sp_loop_post(w->loop, deliver, m)) != 0) {
		atomic_fetch_sub(&w->queued, size);
		free(m);
		return err;
	}
	return 0;
}
