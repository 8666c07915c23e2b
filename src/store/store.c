/* store.c: the store front end: spec dispatch, the write queue, the store thread, completions by eventfd. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store_be.h"

struct sp_store {
	const struct sp_store_be_ops *be_ops;
	void *be;
	int efd;
	size_t max_queue;
	size_t outstanding; /* written, not yet dispatched: caller's thread only */

	pthread_t thread;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t work; /* the queue got a batch, or stop */
	pthread_cond_t idle; /* the thread finished a group */
	struct sp_store_batch *q_head, *q_tail; /* waiting for the thread */
	struct sp_store_batch *d_head, *d_tail; /* applied, waiting for dispatch */
	bool busy;
	bool stop;
	/* The thread sleeps for the first write of a group (IDLE) or lets a
	 * group gather (WINDOW); a writer wakes it only when that changes
	 * something, not once per write: at 1,000 calls/s a wake-up per
	 * call record cost the store thread a futex round trip each. */
	enum { ST_APPLYING, ST_IDLE, ST_WINDOW } phase;
	size_t qlen;                 /* batches in q_head..q_tail */
	unsigned window_ms;          /* sp_store_opts.commit_window_ms */
	struct sp_store_stats stats;
};

static void batch_list_append(struct sp_store_batch **head, struct sp_store_batch **tail,
			      struct sp_store_batch *b)
{
	b->next = NULL;
	if (*tail)
		(*tail)->next = b;
	else
		*head = b;
	*tail = b;
}

static void notify(struct sp_store *st)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	while (write(st->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *store_thread(void *arg)
{
	struct sp_store *st = arg;
	struct sp_store_batch *v[SP_STORE_GROUP_MAX];

	pthread_setname_np(pthread_self(), "sipeer-store");
	pthread_mutex_lock(&st->mu);
	for (;;) {
		st->phase = ST_IDLE;
		while (!st->q_head && !st->stop)
			pthread_cond_wait(&st->work, &st->mu);
		if (!st->q_head)
			break; /* stop, and the queue is flushed */
		/* The commit window: let more writers join this group (a storm
		 * of registrations then costs one disk sync per window, not one
		 * each). */
		if (st->window_ms && !st->stop && st->qlen < SP_STORE_GROUP_MAX) {
			struct timespec dl;
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_nsec += (long)(st->window_ms % 1000u) * 1000000L;
			dl.tv_sec += st->window_ms / 1000u + dl.tv_nsec / 1000000000L;
			dl.tv_nsec %= 1000000000L;
			st->phase = ST_WINDOW;
			while (!st->stop && st->qlen < SP_STORE_GROUP_MAX &&
			       pthread_cond_timedwait(&st->work, &st->mu, &dl) == 0)
				;
		}
		/* Everything that queued up while the last group was being
		 * committed goes into this transaction: one fsync for all. */
		size_t n = 0;
		while (st->q_head && n < SP_STORE_GROUP_MAX) {
			v[n++] = st->q_head;
			st->q_head = st->q_head->next;
			st->qlen--;
		}
		if (!st->q_head)
			st->q_tail = NULL;
		st->phase = ST_APPLYING;
		st->busy = true;
		pthread_mutex_unlock(&st->mu);

		st->be_ops->apply(st->be, v, n);

		pthread_mutex_lock(&st->mu);
		for (size_t i = 0; i < n; i++) {
			if (v[i]->result < 0)
				st->stats.failed++;
			batch_list_append(&st->d_head, &st->d_tail, v[i]);
		}
		st->stats.batches += n;
		st->stats.transactions++;
		st->busy = false;
		pthread_cond_broadcast(&st->idle);
		notify(st);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

int sp_store_open(const char *spec, const struct sp_store_opts *opts, struct sp_store **out)
{
	struct sp_store_opts o = { 0 };
	struct sp_store *st = NULL;
	int rc;

	if (!spec || !out)
		return SP_EINVAL;
	if (opts)
		o = *opts;
	if (!o.max_queue)
		o.max_queue = SP_STORE_DEFAULT_QUEUE;
	if (!o.busy_timeout_ms)
		o.busy_timeout_ms = 5000;

	st = calloc(1, sizeof(*st));
	if (!st)
		return SP_ENOMEM;
	st->efd = -1;
	st->max_queue = o.max_queue;
	st->window_ms = o.commit_window_ms;
	if (strncmp(spec, "sqlite:", 7) == 0 && spec[7]) {
		rc = sp_store_sqlite_open(spec + 7, &o, &st->be, &st->be_ops);
	} else if (strcmp(spec, "memory") == 0) {
		rc = sp_store_memory_open(&st->be, &st->be_ops);
	} else {
		sp_log(SP_LOG_ERR, "store: unknown store \"%s\" (sqlite:FILE or memory)", spec);
		rc = SP_EINVAL;
	}
	if (rc < 0)
		goto out;

	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st->efd < 0) {
		rc = SP_ENOMEM;
		goto out;
	}
	pthread_mutex_init(&st->mu, NULL);
	/* The commit window waits on the monotonic clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->idle, NULL);
	if (pthread_create(&st->thread, NULL, store_thread, st) != 0) {
		pthread_cond_destroy(&st->idle);
		pthread_cond_destroy(&st->work);
		pthread_mutex_destroy(&st->mu);
		rc = SP_ENOMEM;
		goto out;
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	if (st) {
		if (st->be)
			st->be_ops->close(st->be);
		if (st->efd >= 0)
			close(st->efd);
		free(st);
	}
	return rc;
}

int sp_store_fd(const struct sp_store *st)
{
	return st->efd;
}

size_t sp_store_pending(const struct sp_store *st)
{
	return st->outstanding;
}

void sp_store_stats(struct sp_store *st, struct sp_store_stats *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->stats;
	pthread_mutex_unlock(&st->mu);
}

size_t sp_store_dispatch(struct sp_store *st)
{
	uint64_t cnt;
	struct sp_store_batch *b;
	size_t ran = 0;

	/* Clear readiness first: a group finishing after this read writes the
	 * eventfd again, so nothing is missed. */
	while (read(st->efd, &cnt, sizeof(cnt)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&st->mu);
	b = st->d_head;
	st->d_head = st->d_tail = NULL;
	pthread_mutex_unlock(&st->mu);
	while (b) {
		struct sp_store_batch *next = b->next;
		st->outstanding--;
		if (b->done)
			b->done(b->result, b->arg);
		free(b);
		b = next;
		ran++;
	}
	return ran;
}

static bool field_ok(struct sp_str s, size_t max, bool required)
{
	if (s.len > max || (s.len && !s.p))
		return false;
	return !required || s.len > 0;
}

static size_t op_bytes(const struct sp_store_op *op)
{
	const struct sp_store_binding *b = &op->b;
	const struct sp_store_cdr *r = &op->cdr;
	if (op->kind == SP_STORE_CDR)
		return r->id.len + r->call_id.len + r->caller.len + r->callee.len + r->ingress.len +
		       r->egress.len + r->federation.len + r->reason.len;
	size_t n = b->aor.len + b->contact.len;
	if (op->kind == SP_STORE_PUT)
		n += b->path.len + b->call_id.len + b->received.len + b->instance.len +
		     b->user_agent.len;
	return n;
}

static struct sp_str copy_str(char **pos, struct sp_str s)
{
	struct sp_str r = { *pos, s.len };
	if (s.len)
		memcpy(*pos, s.p, s.len);
	*pos += s.len;
	return r;
}

int sp_store_write(struct sp_store *st, const struct sp_store_op *ops, size_t n,
		   sp_store_done_h done, void *arg)
{
	size_t bytes = 0;

	if (n > SP_STORE_MAX_OPS)
		return SP_E2BIG;
	if (n && !ops)
		return SP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct sp_store_op *op = &ops[i];
		const struct sp_store_binding *b = &op->b;
		if (op->kind == SP_STORE_CDR) {
			const struct sp_store_cdr *r = &op->cdr;
			if (!field_ok(r->id, SP_STORE_MAX_FIELD, true))
				return r->id.len ? SP_E2BIG : SP_EINVAL;
			if (!field_ok(r->call_id, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(r->caller, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(r->callee, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(r->ingress, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(r->egress, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(r->federation, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(r->reason, SP_STORE_MAX_FIELD, false))
				return SP_E2BIG;
			bytes += op_bytes(op);
			continue;
		}
		if (op->kind != SP_STORE_PUT && op->kind != SP_STORE_DEL)
			return SP_EINVAL;
		if (!field_ok(b->aor, SP_STORE_MAX_AOR, true) ||
		    !field_ok(b->contact, SP_STORE_MAX_CONTACT, true))
			return b->aor.len && b->contact.len ? SP_E2BIG : SP_EINVAL;
		if (op->kind == SP_STORE_PUT) {
			if (b->q > 1000)
				return SP_EINVAL;
			if (!field_ok(b->path, SP_STORE_MAX_PATH, false) ||
			    !field_ok(b->call_id, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(b->received, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(b->instance, SP_STORE_MAX_FIELD, false) ||
			    !field_ok(b->user_agent, SP_STORE_MAX_FIELD, false))
				return SP_E2BIG;
		}
		bytes += op_bytes(op);
	}
	if (st->outstanding >= st->max_queue)
		return SP_E2BIG;

	struct sp_store_batch *batch = malloc(sizeof(*batch) + n * sizeof(struct sp_store_op) + bytes);
	if (!batch)
		return SP_ENOMEM;
	*batch = (struct sp_store_batch){ .done = done, .arg = arg, .n = n };
	batch->ops = (struct sp_store_op *)(batch + 1);
	char *pos = (char *)(batch->ops + n);
	for (size_t i = 0; i < n; i++) {
		const struct sp_store_binding *src = &ops[i].b;
		struct sp_store_op *op = &batch->ops[i];
		*op = ops[i];
		if (op->kind == SP_STORE_CDR) {
			const struct sp_store_cdr *r = &ops[i].cdr;
			op->cdr.id = copy_str(&pos, r->id);
			op->cdr.call_id = copy_str(&pos, r->call_id);
			op->cdr.caller = copy_str(&pos, r->caller);
			op->cdr.callee = copy_str(&pos, r->callee);
			op->cdr.ingress = copy_str(&pos, r->ingress);
			op->cdr.egress = copy_str(&pos, r->egress);
			op->cdr.federation = copy_str(&pos, r->federation);
			op->cdr.reason = copy_str(&pos, r->reason);
			continue;
		}
		op->b.aor = copy_str(&pos, src->aor);
		op->b.contact = copy_str(&pos, src->contact);
		if (op->kind == SP_STORE_PUT) {
			op->b.path = copy_str(&pos, src->path);
			op->b.call_id = copy_str(&pos, src->call_id);
			op->b.received = copy_str(&pos, src->received);
			op->b.instance = copy_str(&pos, src->instance);
			op->b.user_agent = copy_str(&pos, src->user_agent);
		}
	}

	st->outstanding++;
	pthread_mutex_lock(&st->mu);
	batch_list_append(&st->q_head, &st->q_tail, batch);
	st->qlen++;
	/* Applying: it looks at the queue again when done. In the window:
	 * only a full group ends the wait early. */
	if (st->phase == ST_IDLE || (st->phase == ST_WINDOW && st->qlen >= SP_STORE_GROUP_MAX))
		pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

int sp_store_load(struct sp_store *st, uint64_t now_s, sp_store_load_h cb, void *arg)
{
	/* Wait until the thread has applied everything queued so far; no new
	 * write can come meanwhile (writes come from this thread). The backend
	 * is then ours until we return. */
	pthread_mutex_lock(&st->mu);
	while (st->q_head || st->busy)
		pthread_cond_wait(&st->idle, &st->mu);
	int rc = st->be_ops->load(st->be, now_s, cb, arg);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sp_store_keep(struct sp_store *st, const char *key, const char *value, char *out,
		  size_t size)
{
	if (!st->be_ops->keep) {
		if (strlen(value) + 1 > size)
			return SP_E2BIG;
		memcpy(out, value, strlen(value) + 1);
		return SP_ENOENT;
	}
	pthread_mutex_lock(&st->mu);
	while (st->q_head || st->busy)
		pthread_cond_wait(&st->idle, &st->mu);
	int rc = st->be_ops->keep(st->be, key, value, out, size);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

void sp_store_close(struct sp_store *st)
{
	if (!st)
		return;
	/* Flush: a done callback may write again (the registrar starts the next
	 * request queued for an AoR), so repeat until nothing is outstanding. */
	while (st->outstanding) {
		pthread_mutex_lock(&st->mu);
		while (st->q_head || st->busy)
			pthread_cond_wait(&st->idle, &st->mu);
		pthread_mutex_unlock(&st->mu);
		sp_store_dispatch(st);
	}
	pthread_mutex_lock(&st->mu);
	st->stop = true;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->thread, NULL);
	st->be_ops->close(st->be);
	pthread_cond_destroy(&st->idle);
	pthread_cond_destroy(&st->work);
	pthread_mutex_destroy(&st->mu);
	close(st->efd);
	free(st);
}
