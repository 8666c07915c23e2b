/* test_store.c: the location store: SQLite durability and reload, expiry at load, group commit, queue cap, memory backend. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "core/err.h"
#include "store/store.h"
#include "testutil.h"

/* A database in a fresh temporary directory (tests/testutil.c). */
static void tmpdb_make(struct tu_tmpdb *t)
{
	assert_int_equal(tu_tmpdb_make(t, "store"), 0);
}

static void tmpdb_remove(struct tu_tmpdb *t)
{
	assert_int_equal(tu_tmpdb_remove(t), 0);
}

struct done_rec {
	int results[512];
	int order[512];
	size_t n;
};

struct done_arg {
	struct done_rec *rec;
	int id;
};

static void on_done(int result, void *arg)
{
	struct done_arg *a = arg;
	assert_true(a->rec->n < 512);
	a->rec->results[a->rec->n] = result;
	a->rec->order[a->rec->n] = a->id;
	a->rec->n++;
}

/* Polls the completion fd until want callbacks ran, at most 10 s. */
static void wait_done(struct sp_store *st, struct done_rec *rec, size_t want)
{
	for (int i = 0; i < 1000 && rec->n < want; i++) {
		struct pollfd pfd = { .fd = sp_store_fd(st), .events = POLLIN };
		if (poll(&pfd, 1, 10) > 0)
			sp_store_dispatch(st);
	}
	assert_int_equal(rec->n, want);
}

static struct sp_store_op put(const char *aor, const char *contact, uint64_t expires_at,
			      uint32_t cseq)
{
	struct sp_store_op op = { .kind = SP_STORE_PUT };
	op.b.aor = sp_str_cstr(aor);
	op.b.contact = sp_str_cstr(contact);
	op.b.path = SP_STR("<sip:edge.ssp-a.test;lr>");
	op.b.call_id = SP_STR("cid-1@host");
	op.b.cseq = cseq;
	op.b.expires_at = expires_at;
	op.b.q = 500;
	op.b.received = SP_STR("udp:127.0.0.1:5062");
	op.b.instance = SP_STR("\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"");
	op.b.user_agent = SP_STR("test-ua/1.0");
	op.b.updated_at = 1000;
	return op;
}

static struct sp_store_op del(const char *aor, const char *contact)
{
	struct sp_store_op op = { .kind = SP_STORE_DEL };
	op.b.aor = sp_str_cstr(aor);
	op.b.contact = sp_str_cstr(contact);
	return op;
}

/* What a load saw, copied out (slices die after each callback). */
struct seen {
	char aor[8][64];
	char contact[8][64];
	struct sp_store_binding b[8];
	size_t n;
};

static int on_load(const struct sp_store_binding *b, void *arg)
{
	struct seen *s = arg;
	if (s->n >= 8)
		return SP_E2BIG;
	snprintf(s->aor[s->n], 64, "%.*s", SP_STR_FMT(b->aor));
	snprintf(s->contact[s->n], 64, "%.*s", SP_STR_FMT(b->contact));
	s->b[s->n] = *b;
	s->n++;
	return 0;
}

static bool seen_has(const struct seen *s, const char *aor, const char *contact)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->aor[i], aor) && !strcmp(s->contact[i], contact))
			return true;
	return false;
}

static void test_sqlite_write_reload(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a1 = { &rec, 1 }, a2 = { &rec, 2 };
	tmpdb_make(&t);

	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	struct sp_store_op ops[3] = {
		put("sip:alice@ssp-a.test", "sip:alice@127.0.0.1:5062", 2000, 1),
		put("sip:alice@ssp-a.test", "sip:alice@127.0.0.1:5064", 2000, 1),
		put("sip:bob@ssp-a.test", "sip:bob@127.0.0.1:5066", 2000, 7),
	};
	assert_int_equal(sp_store_write(st, ops, 3, on_done, &a1), 0);
	struct sp_store_op ops2[2] = {
		del("sip:alice@ssp-a.test", "sip:alice@127.0.0.1:5064"),
		put("sip:bob@ssp-a.test", "sip:bob@127.0.0.1:5066", 3000, 8),
	};
	assert_int_equal(sp_store_write(st, ops2, 2, on_done, &a2), 0);
	wait_done(st, &rec, 2);
	assert_int_equal(rec.results[0], 0);
	assert_int_equal(rec.results[1], 0);
	assert_int_equal(rec.order[0], 1);
	assert_int_equal(rec.order[1], 2);
	assert_int_equal(sp_store_pending(st), 0);
	sp_store_close(st);

	/* A new instance on the same file sees what the first one committed. */
	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	struct seen s = { .n = 0 };
	assert_int_equal(sp_store_load(st, 1500, on_load, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(seen_has(&s, "sip:alice@ssp-a.test", "sip:alice@127.0.0.1:5062"));
	assert_true(seen_has(&s, "sip:bob@ssp-a.test", "sip:bob@127.0.0.1:5066"));
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.aor[i], "sip:bob@ssp-a.test") == 0) {
			assert_int_equal(s.b[i].cseq, 8);
			assert_int_equal(s.b[i].expires_at, 3000);
		}
		assert_int_equal(s.b[i].q, 500);
		assert_int_equal(s.b[i].updated_at, 1000);
	}
	sp_store_close(st);

	/* The file is in WAL mode with the schema version set. */
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(t.file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 3);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT path, received, instance, user_agent, call_id"
						" FROM bindings WHERE aor = 'sip:alice@ssp-a.test'",
					    -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "<sip:edge.ssp-a.test;lr>");
	assert_string_equal((const char *)sqlite3_column_text(q, 1), "udp:127.0.0.1:5062");
	assert_string_equal((const char *)sqlite3_column_text(q, 3), "test-ua/1.0");
	assert_string_equal((const char *)sqlite3_column_text(q, 4), "cid-1@host");
	sqlite3_finalize(q);
	/* A newer schema is refused, not overwritten. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sp_store_open(t.spec, NULL, &st), SP_EINVAL);
	tmpdb_remove(&t);
}

static void test_sqlite_expired_skipped(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a = { &rec, 1 };
	tmpdb_make(&t);
	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	struct sp_store_op ops[3] = {
		put("sip:alice@ssp-a.test", "sip:a1@127.0.0.1", 100, 1),
		put("sip:alice@ssp-a.test", "sip:a2@127.0.0.1", 200, 1),
		put("sip:alice@ssp-a.test", "sip:a3@127.0.0.1", 201, 1),
	};
	assert_int_equal(sp_store_write(st, ops, 3, on_done, &a), 0);
	wait_done(st, &rec, 1);
	assert_int_equal(rec.results[0], 0);
	/* Loading right away on the same instance waits for nothing and sees
	 * only what is still valid at 200 (expires_at must be after now). */
	struct seen s = { .n = 0 };
	assert_int_equal(sp_store_load(st, 200, on_load, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.contact[0], "sip:a3@127.0.0.1");
	sp_store_close(st);
	tmpdb_remove(&t);
}

static void test_sqlite_group_commit(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	static struct done_rec rec;
	static struct done_arg args[300];
	char contact[300][48];
	tmpdb_make(&t);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	/* Many REGISTERs queue up faster than one fsync: they share commits,
	 * and each still completes, in order, with its own result. */
	for (int i = 0; i < 300; i++) {
		snprintf(contact[i], sizeof(contact[i]), "sip:u%d@127.0.0.1:5060", i);
		struct sp_store_op op = put("sip:many@ssp-a.test", contact[i], 5000, (uint32_t)i);
		args[i] = (struct done_arg){ &rec, i };
		assert_int_equal(sp_store_write(st, &op, 1, on_done, &args[i]), 0);
	}
	wait_done(st, &rec, 300);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(rec.results[i], 0);
		assert_int_equal(rec.order[i], i);
	}
	/* How many batches shared a commit depends on timing (an fsync takes
	 * long enough that they do); that none was lost or counted twice does not. */
	struct sp_store_stats stats;
	sp_store_stats(st, &stats);
	assert_int_equal(stats.batches, 300);
	assert_int_equal(stats.failed, 0);
	assert_true(stats.transactions >= 300 / SP_STORE_GROUP_MAX + 1);
	assert_true(stats.transactions <= 300);
	print_message("group commit: 300 batches in %llu transactions\n",
		      (unsigned long long)stats.transactions);
	sp_store_close(st);

	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(t.file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM bindings", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 300);
	sqlite3_finalize(q);
	sqlite3_close(db);
	tmpdb_remove(&t);
}

/* The commit window: writers spaced 2 ms apart, within a 60 ms window,
 * share one transaction (one disk sync); each still completes with its
 * own result, no earlier than the window allows. */
static void test_sqlite_commit_window(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	static struct done_rec rec;
	static struct done_arg args[10];
	char contact[10][48];
	struct sp_store_opts o = { .commit_window_ms = 60 };
	struct timespec pause = { 0, 2000000 };
	tmpdb_make(&t);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(sp_store_open(t.spec, &o, &st), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(contact[i], sizeof(contact[i]), "sip:w%d@127.0.0.1:5060", i);
		struct sp_store_op op = put("sip:win@ssp-a.test", contact[i], 5000, (uint32_t)i);
		args[i] = (struct done_arg){ &rec, i };
		assert_int_equal(sp_store_write(st, &op, 1, on_done, &args[i]), 0);
		nanosleep(&pause, NULL);
	}
	wait_done(st, &rec, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rec.results[i], 0);
	struct sp_store_stats stats;
	sp_store_stats(st, &stats);
	assert_int_equal(stats.batches, 10);
	/* 10 writes over ~20 ms: one window, maybe two on a slow machine. */
	assert_true(stats.transactions <= 2);
	sp_store_close(st);
	tmpdb_remove(&t);
}

/* The child process: one durable write, then tell the parent and wait to be
 * killed (at most 20 s). No cmocka in here: exit codes only. */
static void child_write(const char *spec, int wfd)
{
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a = { &rec, 1 };
	struct sp_store_op op = put("sip:alice@ssp-a.test", "sip:alice@127.0.0.1:5062", 5000, 3);
	if (sp_store_open(spec, NULL, &st) < 0 || sp_store_write(st, &op, 1, on_done, &a) < 0)
		_exit(2);
	for (int i = 0; i < 1000 && rec.n == 0; i++) {
		struct pollfd pfd = { .fd = sp_store_fd(st), .events = POLLIN };
		if (poll(&pfd, 1, 10) > 0)
			sp_store_dispatch(st);
	}
	if (rec.n != 1 || rec.results[0] != 0)
		_exit(3);
	/* This is where the daemon would send the 200. */
	if (write(wfd, "k", 1) != 1)
		_exit(4);
	sleep(20);
	_exit(5);
}

static void test_sqlite_kill9(void **state)
{
	struct tu_tmpdb t;
	int pfd[2];
	char c = 0;
	tmpdb_make(&t);
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		child_write(t.spec, pfd[1]);
	}
	close(pfd[1]);
	struct pollfd p = { .fd = pfd[0], .events = POLLIN };
	int ready = poll(&p, 1, 10000);
	ssize_t got = ready > 0 ? read(pfd[0], &c, 1) : -1;
	/* Killed without any chance to close the store. */
	kill(pid, SIGKILL);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(pfd[0]);
	assert_int_equal(got, 1);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	struct sp_store *st;
	struct seen s = { .n = 0 };
	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	assert_int_equal(sp_store_load(st, 100, on_load, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.contact[0], "sip:alice@127.0.0.1:5062");
	assert_int_equal(s.b[0].cseq, 3);
	sp_store_close(st);
	tmpdb_remove(&t);
}

/* One failing batch in a group does not take the others down (savepoints). */
static void test_sqlite_batch_isolation(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a[3] = { { &rec, 0 }, { &rec, 1 }, { &rec, 2 } };
	sqlite3 *db;
	tmpdb_make(&t);
	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	assert_int_equal(sqlite3_open(t.file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON bindings"
					  " WHEN NEW.contact LIKE '%fail%'"
					  " BEGIN SELECT RAISE(ABORT, 'injected'); END;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	struct sp_store_op ok1 = put("sip:a@ssp-a.test", "sip:a@h1", 5000, 1);
	struct sp_store_op bad[2] = { put("sip:b@ssp-a.test", "sip:b@h1", 5000, 1),
				      put("sip:b@ssp-a.test", "sip:fail@h2", 5000, 1) };
	struct sp_store_op ok2 = put("sip:c@ssp-a.test", "sip:c@h1", 5000, 1);
	assert_int_equal(sp_store_write(st, &ok1, 1, on_done, &a[0]), 0);
	assert_int_equal(sp_store_write(st, bad, 2, on_done, &a[1]), 0);
	assert_int_equal(sp_store_write(st, &ok2, 1, on_done, &a[2]), 0);
	wait_done(st, &rec, 3);
	assert_int_equal(rec.results[0], 0);
	assert_true(rec.results[1] < 0);
	assert_int_equal(rec.results[2], 0);
	struct seen s = { .n = 0 };
	assert_int_equal(sp_store_load(st, 10, on_load, &s), 0);
	assert_int_equal(s.n, 2); /* b@h1 went with its batch */
	assert_true(seen_has(&s, "sip:a@ssp-a.test", "sip:a@h1"));
	assert_true(seen_has(&s, "sip:c@ssp-a.test", "sip:c@h1"));
	struct sp_store_stats stats;
	sp_store_stats(st, &stats);
	assert_int_equal(stats.failed, 1);
	sp_store_close(st);
	tmpdb_remove(&t);
}

static void test_queue_cap(void **state)
{
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a = { &rec, 0 };
	struct sp_store_opts o = { .max_queue = 4 };
	assert_int_equal(sp_store_open("memory", &o, &st), 0);
	struct sp_store_op op = put("sip:alice@ssp-a.test", "sip:a@127.0.0.1", 5000, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(sp_store_write(st, &op, 1, on_done, &a), 0);
	/* Undispatched completions count too: memory is bounded even when the
	 * loop falls behind. */
	assert_int_equal(sp_store_write(st, &op, 1, on_done, &a), SP_E2BIG);
	assert_int_equal(sp_store_pending(st), 4);
	wait_done(st, &rec, 4);
	assert_int_equal(sp_store_write(st, &op, 1, on_done, &a), 0);
	wait_done(st, &rec, 5);
	/* Field caps and bad ops are refused before queueing. */
	struct sp_store_op bad = op;
	bad.b.contact = SP_STR_NULL;
	assert_int_equal(sp_store_write(st, &bad, 1, on_done, &a), SP_EINVAL);
	bad = op;
	bad.b.q = 1001;
	assert_int_equal(sp_store_write(st, &bad, 1, on_done, &a), SP_EINVAL);
	char big[SP_STORE_MAX_CONTACT + 2];
	memset(big, 'x', sizeof(big));
	bad = op;
	bad.b.contact = sp_str_make(big, sizeof(big));
	assert_int_equal(sp_store_write(st, &bad, 1, on_done, &a), SP_E2BIG);
	assert_int_equal(sp_store_pending(st), 0);
	sp_store_close(st);
	assert_int_equal(rec.n, 5);
}

static void test_memory_backend(void **state)
{
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a = { &rec, 0 };
	assert_int_equal(sp_store_open("memory", NULL, &st), 0);
	struct sp_store_op ops[3] = {
		put("sip:alice@ssp-a.test", "sip:a1@127.0.0.1", 5000, 1),
		put("sip:alice@ssp-a.test", "sip:a2@127.0.0.1", 5000, 1),
		put("sip:alice@ssp-a.test", "sip:a1@127.0.0.1", 6000, 2), /* replaces the first */
	};
	assert_int_equal(sp_store_write(st, ops, 3, on_done, &a), 0);
	/* The completion comes through the fd, never inside the write. */
	assert_int_equal(rec.n, 0);
	wait_done(st, &rec, 1);
	assert_int_equal(rec.results[0], 0);
	struct sp_store_op d = del("sip:alice@ssp-a.test", "sip:a2@127.0.0.1");
	assert_int_equal(sp_store_write(st, &d, 1, on_done, &a), 0);
	wait_done(st, &rec, 2);
	struct seen s = { .n = 0 };
	assert_int_equal(sp_store_load(st, 10, on_load, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.contact[0], "sip:a1@127.0.0.1");
	assert_int_equal(s.b[0].expires_at, 6000);
	assert_int_equal(s.b[0].cseq, 2);
	sp_store_close(st);
}

/* A completion that writes again (the registrar starting the next queued
 * request) is flushed by close too. */
struct chain {
	struct sp_store *st;
	int left;
	int ran;
};

static void on_chain(int result, void *arg)
{
	struct chain *c = arg;
	assert_int_equal(result, 0);
	c->ran++;
	if (c->left-- > 0) {
		struct sp_store_op op = put("sip:c@ssp-a.test", "sip:c@127.0.0.1", 5000, 1);
		assert_int_equal(sp_store_write(c->st, &op, 1, on_chain, c), 0);
	}
}

static void test_close_flushes_chain(void **state)
{
	struct chain c = { .left = 3 };
	assert_int_equal(sp_store_open("memory", NULL, &c.st), 0);
	assert_int_equal(sp_store_write(c.st, NULL, 0, on_chain, &c), 0);
	sp_store_close(c.st);
	assert_int_equal(c.ran, 4);
}

/* Call records: written through the store thread, read back by the
 * operator's tool; a record is replaced by id (opened, then ended). */
struct cdr_seen {
	char id[4][64], reason[4][16], egress[4][32];
	uint64_t end_ms[4];
	uint16_t status[4];
	size_t n;
};

static int on_cdr(const struct sp_store_cdr *r, void *arg)
{
	struct cdr_seen *s = arg;
	if (s->n >= 4)
		return SP_E2BIG;
	snprintf(s->id[s->n], 64, "%.*s", SP_STR_FMT(r->id));
	snprintf(s->reason[s->n], 16, "%.*s", SP_STR_FMT(r->reason));
	snprintf(s->egress[s->n], 32, "%.*s", SP_STR_FMT(r->egress));
	s->end_ms[s->n] = r->end_ms;
	s->status[s->n] = r->status;
	s->n++;
	return 0;
}

static struct sp_store_op cdr_op(const char *id, uint64_t start, uint64_t end, uint16_t status,
				 const char *reason)
{
	struct sp_store_op op = { .kind = SP_STORE_CDR };
	op.cdr.id = sp_str_cstr(id);
	op.cdr.call_id = SP_STR("c1@host");
	op.cdr.start_ms = start;
	op.cdr.answer_ms = status < 300 ? start + 10 : 0;
	op.cdr.end_ms = end;
	op.cdr.status = status;
	op.cdr.caller = SP_STR("+4721000001");
	op.cdr.callee = SP_STR("+4722000001");
	op.cdr.ingress = SP_STR("local");
	op.cdr.egress = SP_STR("peer ssp-b");
	op.cdr.reason = sp_str_cstr(reason);
	return op;
}

static void test_sqlite_cdr(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	struct done_rec rec = { .n = 0 };
	struct done_arg a = { &rec, 1 };
	struct cdr_seen seen = { .n = 0 };
	tmpdb_make(&t);

	/* A database of schema version 1 (bindings only) is migrated. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(t.file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE bindings (aor TEXT NOT NULL, contact TEXT NOT NULL,"
				      " path TEXT NOT NULL DEFAULT '', call_id TEXT NOT NULL DEFAULT '',"
				      " cseq INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL,"
				      " q INTEGER NOT NULL DEFAULT 1000, received TEXT NOT NULL DEFAULT '',"
				      " instance TEXT NOT NULL DEFAULT '', user_agent TEXT NOT NULL DEFAULT '',"
				      " updated_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (aor, contact))"
				      " WITHOUT ROWID; PRAGMA user_version = 1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	struct sp_store_op ops[3] = {
		cdr_op("1000-a", 1000, 0, 200, ""),      /* answered, open */
		cdr_op("2000-b", 2000, 2100, 486, "failed"),
		cdr_op("1000-a", 1000, 5000, 200, "bye"), /* the same call, ended */
	};
	assert_int_equal(sp_store_write(st, ops, 3, on_done, &a), 0);
	wait_done(st, &rec, 1);
	assert_int_equal(rec.results[0], 0);
	/* Read while the store is open (a running daemon). */
	assert_int_equal(sp_store_cdr_list(t.file, 0, on_cdr, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.id[0], "1000-a");
	assert_string_equal(seen.reason[0], "bye");
	assert_int_equal(seen.end_ms[0], 5000);
	assert_string_equal(seen.egress[0], "peer ssp-b");
	assert_string_equal(seen.id[1], "2000-b");
	assert_int_equal(seen.status[1], 486);
	/* --limit: the newest only. */
	seen.n = 0;
	assert_int_equal(sp_store_cdr_list(t.file, 1, on_cdr, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.id[0], "2000-b");
	/* A record without an id is refused before it is queued. */
	struct sp_store_op bad = cdr_op("", 1, 2, 200, "bye");
	assert_int_equal(sp_store_write(st, &bad, 1, on_done, &a), SP_EINVAL);
	/* A value kept once is the one every later start gets. */
	char v[64];
	assert_int_equal(sp_store_keep(st, "auth.secret", "first-secret", v, sizeof(v)), 0);
	assert_string_equal(v, "first-secret");
	sp_store_close(st);
	assert_int_equal(sp_store_open(t.spec, NULL, &st), 0);
	assert_int_equal(sp_store_keep(st, "auth.secret", "second-secret", v, sizeof(v)), 0);
	assert_string_equal(v, "first-secret");
	assert_int_equal(sp_store_keep(st, "auth.secret", "x", v, 4), SP_E2BIG);
	sp_store_close(st);
	assert_int_equal(sp_store_cdr_list("/nonexistent/dir/x.db", 0, on_cdr, &seen), SP_ENOENT);
	tmpdb_remove(&t);
}

/* A VFS that passes everything to the default one and counts xSync calls on
 * the write-ahead log: how we see which commits waited for the disk. */
struct sync_file {
	sqlite3_file base;      /* methods: sync_methods */
	bool is_wal;
	sqlite3_file *real;     /* follows this struct in the same allocation */
};
static sqlite3_vfs *real_vfs;
static sqlite3_vfs sync_vfs;
static sqlite3_io_methods sync_methods;
static int wal_syncs;

static int sf_close(sqlite3_file *f)
{
	struct sync_file *s = (struct sync_file *)f;
	return s->real->pMethods ? s->real->pMethods->xClose(s->real) : SQLITE_OK;
}
#define SF(f) (((struct sync_file *)(f))->real)
static int sf_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return SF(f)->pMethods->xRead(SF(f), b, n, o); }
static int sf_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) { return SF(f)->pMethods->xWrite(SF(f), b, n, o); }
static int sf_truncate(sqlite3_file *f, sqlite3_int64 n) { return SF(f)->pMethods->xTruncate(SF(f), n); }
static int sf_sync(sqlite3_file *f, int flags)
{
	if (((struct sync_file *)f)->is_wal)
		wal_syncs++;
	return SF(f)->pMethods->xSync(SF(f), flags);
}
static int sf_size(sqlite3_file *f, sqlite3_int64 *n) { return SF(f)->pMethods->xFileSize(SF(f), n); }
static int sf_lock(sqlite3_file *f, int l) { return SF(f)->pMethods->xLock(SF(f), l); }
static int sf_unlock(sqlite3_file *f, int l) { return SF(f)->pMethods->xUnlock(SF(f), l); }
static int sf_check(sqlite3_file *f, int *r) { return SF(f)->pMethods->xCheckReservedLock(SF(f), r); }
static int sf_fctl(sqlite3_file *f, int op, void *a) { return SF(f)->pMethods->xFileControl(SF(f), op, a); }
static int sf_sector(sqlite3_file *f) { return SF(f)->pMethods->xSectorSize(SF(f)); }
static int sf_dev(sqlite3_file *f) { return SF(f)->pMethods->xDeviceCharacteristics(SF(f)); }
static int sf_shmmap(sqlite3_file *f, int i, int sz, int e, void volatile **p) { return SF(f)->pMethods->xShmMap(SF(f), i, sz, e, p); }
static int sf_shmlock(sqlite3_file *f, int o, int n, int fl) { return SF(f)->pMethods->xShmLock(SF(f), o, n, fl); }
static void sf_shmbarrier(sqlite3_file *f) { SF(f)->pMethods->xShmBarrier(SF(f)); }
static int sf_shmunmap(sqlite3_file *f, int d) { return SF(f)->pMethods->xShmUnmap(SF(f), d); }

static int sv_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct sync_file *s = (struct sync_file *)f;
	(void)v;
	s->real = (sqlite3_file *)(s + 1);
	s->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
	memset(s->real, 0, (size_t)real_vfs->szOsFile);
	int rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out);
	if (rc != SQLITE_OK || !s->real->pMethods) {
		s->base.pMethods = NULL;
		return rc;
	}
	sync_methods = (sqlite3_io_methods){
		.iVersion = 2, .xClose = sf_close, .xRead = sf_read, .xWrite = sf_write,
		.xTruncate = sf_truncate, .xSync = sf_sync, .xFileSize = sf_size, .xLock = sf_lock,
		.xUnlock = sf_unlock, .xCheckReservedLock = sf_check, .xFileControl = sf_fctl,
		.xSectorSize = sf_sector, .xDeviceCharacteristics = sf_dev, .xShmMap = sf_shmmap,
		.xShmLock = sf_shmlock, .xShmBarrier = sf_shmbarrier, .xShmUnmap = sf_shmunmap,
	};
	s->base.pMethods = &sync_methods;
	return SQLITE_OK;
}
static int sv_delete(sqlite3_vfs *v, const char *n, int d) { (void)v; return real_vfs->xDelete(real_vfs, n, d); }
static int sv_access(sqlite3_vfs *v, const char *n, int fl, int *r) { (void)v; return real_vfs->xAccess(real_vfs, n, fl, r); }
static int sv_full(sqlite3_vfs *v, const char *n, int sz, char *o) { (void)v; return real_vfs->xFullPathname(real_vfs, n, sz, o); }
static int sv_rand(sqlite3_vfs *v, int n, char *o) { (void)v; return real_vfs->xRandomness(real_vfs, n, o); }
static int sv_sleep(sqlite3_vfs *v, int us) { (void)v; return real_vfs->xSleep(real_vfs, us); }
static int sv_time(sqlite3_vfs *v, double *t) { (void)v; return real_vfs->xCurrentTime(real_vfs, t); }
static int sv_err(sqlite3_vfs *v, int n, char *o) { (void)v; return real_vfs->xGetLastError(real_vfs, n, o); }
static int sv_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; return real_vfs->xCurrentTimeInt64(real_vfs, t); }

static void sync_vfs_install(void)
{
	if (!real_vfs) {
		real_vfs = sqlite3_vfs_find(NULL);
		assert_non_null(real_vfs);
		sync_vfs = (sqlite3_vfs){
			.iVersion = 2, .szOsFile = (int)sizeof(struct sync_file) + real_vfs->szOsFile,
			.mxPathname = real_vfs->mxPathname, .zName = "sync-count", .xOpen = sv_open,
			.xDelete = sv_delete, .xAccess = sv_access, .xFullPathname = sv_full,
			.xDlOpen = NULL, .xRandomness = sv_rand, .xSleep = sv_sleep,
			.xCurrentTime = sv_time, .xGetLastError = sv_err, .xCurrentTimeInt64 = sv_time64,
		};
	}
	assert_int_equal(sqlite3_vfs_register(&sync_vfs, 1), SQLITE_OK);
}

/* One write (a batch of ops[0..n)) and its commit; returns the WAL syncs it took. */
static int syncs_of(struct sp_store *st, struct sp_store_op *ops, size_t n)
{
	struct done_rec rec = { .n = 0 };
	struct done_arg a = { &rec, 1 };
	int before = wal_syncs;
	assert_int_equal(sp_store_write(st, ops, n, on_done, &a), 0);
	wait_done(st, &rec, 1);
	assert_int_equal(rec.results[0], 0);
	return wal_syncs - before;
}

/* Bindings always wait for the disk; call records alone only with cdr_sync.
 * (SQLite applies PRAGMA synchronous when it compiles the statement: a
 * prepared, kept pragma once left bindings unsynced.) */
static void test_sqlite_syncs(void **state)
{
	struct tu_tmpdb t;
	struct sp_store *st;
	struct sp_store_op b = put("sip:alice@a.test", "sip:alice@192.0.2.1", 4000000000ull, 1);
	struct sp_store_op r1 = cdr_op("1000-a", 1000, 0, 200, "");
	struct sp_store_op r2 = cdr_op("1000-a", 1000, 5000, 200, "bye");
	char v[64];
	tmpdb_make(&t);
	sync_vfs_install();

	for (int cdr_sync = 0; cdr_sync <= 1; cdr_sync++) {
		struct sp_store_opts o = { .cdr_sync = cdr_sync };
		assert_int_equal(sp_store_open(t.spec, &o, &st), 0);
		int before = wal_syncs;
		assert_int_equal(sp_store_keep(st, "auth.secret", "0123456789abcdef", v, sizeof(v)), 0);
		if (cdr_sync == 0) /* the first open writes it; the second only reads */
			assert_true(wal_syncs > before);
		assert_true(syncs_of(st, &b, 1) >= 1);
		assert_true(syncs_of(st, &b, 1) >= 1);
		if (cdr_sync)
			assert_true(syncs_of(st, &r1, 1) >= 1);
		else
			assert_int_equal(syncs_of(st, &r1, 1), 0);
		assert_true(syncs_of(st, &b, 1) >= 1); /* after a record: FULL again */
		if (cdr_sync)
			assert_true(syncs_of(st, &r2, 1) >= 1);
		else
			assert_int_equal(syncs_of(st, &r2, 1), 0);
		struct sp_store_op mixed[2] = { r2, b };
		assert_true(syncs_of(st, mixed, 2) >= 1);
		sp_store_close(st);
	}
	sqlite3_vfs_unregister(&sync_vfs);
	tmpdb_remove(&t);
}

static void test_bad_spec(void **state)
{
	struct sp_store *st = NULL;
	assert_int_equal(sp_store_open("redis-ish", NULL, &st), SP_EINVAL);
	assert_int_equal(sp_store_open("sqlite:", NULL, &st), SP_EINVAL);
	assert_int_equal(sp_store_open("sqlite:/nonexistent-dir/x/loc.db", NULL, &st), SP_EINVAL);
	assert_null(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlite_write_reload),
		cmocka_unit_test(test_sqlite_expired_skipped),
		cmocka_unit_test(test_sqlite_group_commit),
		cmocka_unit_test(test_sqlite_commit_window),
		cmocka_unit_test(test_sqlite_kill9),
		cmocka_unit_test(test_sqlite_syncs),
		cmocka_unit_test(test_sqlite_batch_isolation),
		cmocka_unit_test(test_queue_cap),
		cmocka_unit_test(test_memory_backend),
		cmocka_unit_test(test_close_flushes_chain),
		cmocka_unit_test(test_sqlite_cdr),
		cmocka_unit_test(test_bad_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
