/* sqlite.c: the SQLite 3 store backend: WAL, synchronous=FULL (call records alone: NORMAL), schema in user_version, group commit. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store_be.h"

/* Version 1: the bindings table. A database from a newer program (a higher
 * user_version) is refused rather than written in a format we do not know. */
#define SCHEMA_VERSION 3

static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS bindings ("
	" aor TEXT NOT NULL,"
	" contact TEXT NOT NULL,"
	" path TEXT NOT NULL DEFAULT '',"
	" call_id TEXT NOT NULL DEFAULT '',"
	" cseq INTEGER NOT NULL DEFAULT 0,"
	" expires_at INTEGER NOT NULL,"
	" q INTEGER NOT NULL DEFAULT 1000,"
	" received TEXT NOT NULL DEFAULT '',"
	" instance TEXT NOT NULL DEFAULT '',"
	" user_agent TEXT NOT NULL DEFAULT '',"
	" updated_at INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (aor, contact)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS bindings_expires ON bindings (expires_at);"
	"PRAGMA user_version = 1;";

/* Version 2: call records for settlement. */
static const char schema_v2[] =
	"CREATE TABLE IF NOT EXISTS cdr ("
	" id TEXT PRIMARY KEY,"
	" call_id TEXT NOT NULL DEFAULT '',"
	" start_ms INTEGER NOT NULL,"
	" answer_ms INTEGER NOT NULL DEFAULT 0,"
	" end_ms INTEGER NOT NULL DEFAULT 0,"
	" status INTEGER NOT NULL DEFAULT 0,"
	" caller TEXT NOT NULL DEFAULT '',"
	" callee TEXT NOT NULL DEFAULT '',"
	" ingress TEXT NOT NULL DEFAULT '',"
	" egress TEXT NOT NULL DEFAULT '',"
	" federation TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS cdr_start ON cdr (start_ms);"
	"PRAGMA user_version = 2;";

/* Version 3: values chosen once and kept across restarts (a generated secret). */
static const char schema_v3[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"PRAGMA user_version = 3;";

enum ctl {
	CTL_BEGIN, CTL_COMMIT, CTL_ROLLBACK, CTL_SAVEPOINT, CTL_RELEASE, CTL_ROLLBACK_TO,
	CTL_N
};
static const char *const ctl_sql[CTL_N] = {
	[CTL_BEGIN] = "BEGIN IMMEDIATE",
	[CTL_COMMIT] = "COMMIT",
	[CTL_ROLLBACK] = "ROLLBACK",
	[CTL_SAVEPOINT] = "SAVEPOINT batch",
	[CTL_RELEASE] = "RELEASE batch",
	[CTL_ROLLBACK_TO] = "ROLLBACK TO batch",
};

struct sqlite_be {
	sqlite3 *db;
	sqlite3_stmt *put;
	sqlite3_stmt *del;
	sqlite3_stmt *load;
	sqlite3_stmt *cdr;
	/* The group's control statements, prepared once: sqlite3_exec parsed
	 * them again at every group, a fifth of the store thread's work. */
	sqlite3_stmt *ctl[CTL_N];
	bool cdr_sync;  /* sp_store_opts.cdr_sync */
	bool full;      /* synchronous is FULL now (else NORMAL) */
};

static int be_fail(struct sqlite_be *be, const char *what)
{
	sp_log(SP_LOG_ERR, "store: sqlite %s: %s", what, sqlite3_errmsg(be->db));
	switch (sqlite3_errcode(be->db)) {
	case SQLITE_NOMEM:
		return SP_ENOMEM;
	case SQLITE_FULL:
	case SQLITE_TOOBIG:
		return SP_E2BIG;
	default:
		/* err.h has no I/O error code; the registrar answers 500 for
		 * anything but SP_E2BIG. */
		return SP_EINVAL;
	}
}

static int exec(struct sqlite_be *be, const char *sql)
{
	if (sqlite3_exec(be->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return be_fail(be, sql);
	return 0;
}

static int ctl(struct sqlite_be *be, enum ctl c)
{
	sqlite3_stmt *s = be->ctl[c];
	int step = sqlite3_step(s);
	int rc = step == SQLITE_DONE || step == SQLITE_ROW ? 0 : be_fail(be, ctl_sql[c]);
	sqlite3_reset(s);
	return rc;
}

static int bind_text(sqlite3_stmt *s, int i, struct sp_str v)
{
	/* The batch outlives the statement's use: no copy. */
	return sqlite3_bind_text(s, i, v.len ? v.p : "", (int)v.len, SQLITE_STATIC);
}

static int run_cdr(struct sqlite_be *be, const struct sp_store_cdr *r)
{
	sqlite3_stmt *s = be->cdr;
	int rc = SQLITE_OK;
	sqlite3_reset(s);
	rc |= bind_text(s, 1, r->id);
	rc |= bind_text(s, 2, r->call_id);
	rc |= sqlite3_bind_int64(s, 3, (sqlite3_int64)r->start_ms);
	rc |= sqlite3_bind_int64(s, 4, (sqlite3_int64)r->answer_ms);
	rc |= sqlite3_bind_int64(s, 5, (sqlite3_int64)r->end_ms);
	rc |= sqlite3_bind_int(s, 6, r->status);
	rc |= bind_text(s, 7, r->caller);
	rc |= bind_text(s, 8, r->callee);
	rc |= bind_text(s, 9, r->ingress);
	rc |= bind_text(s, 10, r->egress);
	rc |= bind_text(s, 11, r->federation);
	rc |= bind_text(s, 12, r->reason);
	if (rc != SQLITE_OK)
		return be_fail(be, "bind");
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : be_fail(be, "call record");
}

static int run_op(struct sqlite_be *be, const struct sp_store_op *op)
{
	if (op->kind == SP_STORE_CDR)
		return run_cdr(be, &op->cdr);
	const struct sp_store_binding *b = &op->b;
	sqlite3_stmt *s = op->kind == SP_STORE_PUT ? be->put : be->del;
	int rc = SQLITE_OK;

	sqlite3_reset(s);
	rc |= bind_text(s, 1, b->aor);
	rc |= bind_text(s, 2, b->contact);
	if (op->kind == SP_STORE_PUT) {
		rc |= bind_text(s, 3, b->path);
		rc |= bind_text(s, 4, b->call_id);
		rc |= sqlite3_bind_int64(s, 5, b->cseq);
		rc |= sqlite3_bind_int64(s, 6, (sqlite3_int64)b->expires_at);
		rc |= sqlite3_bind_int(s, 7, b->q);
		rc |= bind_text(s, 8, b->received);
		rc |= bind_text(s, 9, b->instance);
		rc |= bind_text(s, 10, b->user_agent);
		rc |= sqlite3_bind_int64(s, 11, (sqlite3_int64)b->updated_at);
	}
	if (rc != SQLITE_OK)
		return be_fail(be, "bind");
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return be_fail(be, op->kind == SP_STORE_PUT ? "upsert" : "delete");
	return 0;
}

static void sqlite_apply(void *arg, struct sp_store_batch **v, size_t n)
{
	struct sqlite_be *be = arg;
	/* A group of call records only does not wait for the disk (see
	 * sp_store_opts.cdr_sync): at 1,000 calls/s their syncs were a fifth
	 * of a call's CPU. A later FULL commit syncs the whole WAL, earlier
	 * records included, so the order on disk stays the order of commits. */
	bool full = be->cdr_sync;
	for (size_t i = 0; i < n && !full; i++)
		for (size_t k = 0; k < v[i]->n && !full; k++)
			full = v[i]->ops[k].kind != SP_STORE_CDR;
	int rc = 0;
	if (full != be->full) {
		/* Not a prepared statement: SQLite applies this pragma when it
		 * compiles it, so a kept statement would take effect when
		 * prepared (once, at open) and never again. */
		rc = exec(be, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
		if (rc == 0)
			be->full = full;
	}
	if (rc == 0)
		rc = ctl(be, CTL_BEGIN);
	if (rc < 0)
		goto out;
	/* Each batch in its own savepoint: one bad batch does not take the
	 * others of the group down with it. A group of one needs none: its
	 * failure is the transaction's. */
	for (size_t i = 0; i < n; i++) {
		struct sp_store_batch *b = v[i];
		b->result = n > 1 ? ctl(be, CTL_SAVEPOINT) : 0;
		for (size_t k = 0; k < b->n && b->result == 0; k++)
			b->result = run_op(be, &b->ops[k]);
		if (n > 1) {
			if (b->result < 0)
				ctl(be, CTL_ROLLBACK_TO);
			ctl(be, CTL_RELEASE);
		}
	}
	rc = n == 1 ? v[0]->result : 0;
	if (rc == 0)
		rc = ctl(be, CTL_COMMIT);
	if (rc < 0)
		ctl(be, CTL_ROLLBACK);
out:
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			v[i]->result = rc;
}

static struct sp_str col_str(sqlite3_stmt *s, int i)
{
	const char *p = (const char *)sqlite3_column_text(s, i);
	int len = sqlite3_column_bytes(s, i);
	return p && len > 0 ? sp_str_make(p, (size_t)len) : sp_str_make("", 0);
}

static int sqlite_load(void *arg, uint64_t now_s, sp_store_load_h cb, void *cb_arg)
{
	struct sqlite_be *be = arg;
	sqlite3_stmt *s = be->load;
	int rc = 0, step;

	sqlite3_reset(s);
	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)now_s) != SQLITE_OK)
		return be_fail(be, "bind");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct sp_store_binding b = {
			.aor = col_str(s, 0),
			.contact = col_str(s, 1),
			.path = col_str(s, 2),
			.call_id = col_str(s, 3),
			.cseq = (uint32_t)sqlite3_column_int64(s, 4),
			.expires_at = (uint64_t)sqlite3_column_int64(s, 5),
			.q = (uint16_t)sqlite3_column_int(s, 6),
			.received = col_str(s, 7),
			.instance = col_str(s, 8),
			.user_agent = col_str(s, 9),
			.updated_at = (uint64_t)sqlite3_column_int64(s, 10),
		};
		if (b.q > 1000)
			b.q = 1000;
		rc = cb(&b, cb_arg);
		if (rc < 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = be_fail(be, "load");
out:
	sqlite3_reset(s);
	return rc;
}

static void sqlite_close(void *arg)
{
	struct sqlite_be *be = arg;
	sqlite3_finalize(be->put);
	sqlite3_finalize(be->del);
	sqlite3_finalize(be->load);
	sqlite3_finalize(be->cdr);
	for (int c = 0; c < CTL_N; c++)
		sqlite3_finalize(be->ctl[c]);
	sqlite3_close(be->db);
	free(be);
}

static int sqlite_keep(void *arg, const char *key, const char *value, char *out, size_t size)
{
	struct sqlite_be *be = arg;
	sqlite3_stmt *s = NULL;
	int rc = SP_EINVAL;
	/* INSERT OR IGNORE then read: whoever stored first wins, durably
	 * (synchronous=FULL, autocommit). */
	if (!be->full) {
		if (exec(be, "PRAGMA synchronous=FULL") < 0)
			return SP_EINVAL;
		be->full = true;
	}
	if (sqlite3_prepare_v2(be->db, "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)", -1,
			       &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		rc = be_fail(be, "meta insert");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(be->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = be_fail(be, "meta select");
		goto out;
	}
	const char *v = (const char *)sqlite3_column_text(s, 0);
	size_t n = v ? (size_t)sqlite3_column_bytes(s, 0) : 0;
	if (n + 1 > size) {
		rc = SP_E2BIG;
		goto out;
	}
	if (n)
		memcpy(out, v, n);
	out[n] = '\0';
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

static const struct sp_store_be_ops sqlite_ops = {
	.apply = sqlite_apply,
	.load = sqlite_load,
	.keep = sqlite_keep,
	.close = sqlite_close,
};

static int migrate(struct sqlite_be *be, const char *file)
{
	sqlite3_stmt *s = NULL;
	int version = -1, rc;

	if (sqlite3_prepare_v2(be->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return be_fail(be, "user_version");
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version < 0)
		return be_fail(be, "user_version");
	if (version > SCHEMA_VERSION) {
		sp_log(SP_LOG_ERR, "store: %s has schema version %d, this program knows up to %d",
		       file, version, SCHEMA_VERSION);
		return SP_EINVAL;
	}
	if (version == SCHEMA_VERSION)
		return 0;
	/* Version 0 is a new (or foreign, empty) database. Later versions add
	 * their steps here, each in the same transaction as the version bump. */
	rc = exec(be, "BEGIN IMMEDIATE");
	if (rc == 0 && version < 1)
		rc = exec(be, schema_v1);
	if (rc == 0 && version < 2)
		rc = exec(be, schema_v2);
	if (rc == 0 && version < 3)
		rc = exec(be, schema_v3);
	if (rc == 0)
		rc = exec(be, "COMMIT");
	else
		exec(be, "ROLLBACK");
	return rc;
}

int sp_store_sqlite_open(const char *file, const struct sp_store_opts *opts, void **out,
			 const struct sp_store_be_ops **ops)
{
	struct sqlite_be *be = calloc(1, sizeof(*be));
	sqlite3_stmt *s = NULL;
	int rc;

	if (!be)
		return SP_ENOMEM;
	if (sqlite3_open_v2(file, &be->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				   SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		sp_log(SP_LOG_ERR, "store: cannot open %s: %s", file,
		       be->db ? sqlite3_errmsg(be->db) : "out of memory");
		rc = SP_EINVAL;
		goto out;
	}
	sqlite3_busy_timeout(be->db, (int)opts->busy_timeout_ms);
	/* WAL: readers do not block the writer; synchronous=FULL: the WAL is
	 * fsynced at every commit, so a 200 sent after the commit survives a
	 * kill -9 or a power loss (sqlite_apply relaxes it for call records). */
	if (sqlite3_prepare_v2(be->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK) {
		rc = be_fail(be, "journal_mode");
		goto out;
	}
	rc = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
	     strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	if (!rc) {
		sp_log(SP_LOG_ERR, "store: %s: cannot switch to WAL journal mode", file);
		rc = SP_EINVAL;
		goto out;
	}
	rc = exec(be, "PRAGMA synchronous=FULL");
	be->full = true;
	be->cdr_sync = opts->cdr_sync;
	if (rc == 0)
		rc = migrate(be, file);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(be->db,
			       "INSERT OR REPLACE INTO bindings (aor, contact, path, call_id, cseq,"
			       " expires_at, q, received, instance, user_agent, updated_at)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			       -1, &be->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(be->db, "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2", -1,
			       &be->del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(be->db,
			       "SELECT aor, contact, path, call_id, cseq, expires_at, q, received,"
			       " instance, user_agent, updated_at FROM bindings"
			       " WHERE expires_at > ?1 ORDER BY aor, updated_at",
			       -1, &be->load, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(be->db,
			       /* An upsert, not INSERT OR REPLACE: the record's end
				* (same id, same start) is changed in place, where a
				* replace deleted the row and both index entries and
				* inserted them again. */
			       "INSERT INTO cdr (id, call_id, start_ms, answer_ms, end_ms,"
			       " status, caller, callee, ingress, egress, federation, reason)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
			       " ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id,"
			       " answer_ms = excluded.answer_ms, end_ms = excluded.end_ms,"
			       " status = excluded.status, caller = excluded.caller,"
			       " callee = excluded.callee, ingress = excluded.ingress,"
			       " egress = excluded.egress, federation = excluded.federation,"
			       " reason = excluded.reason",
			       -1, &be->cdr, NULL) != SQLITE_OK) {
		rc = be_fail(be, "prepare");
		goto out;
	}
	for (int c = 0; c < CTL_N; c++)
		if (sqlite3_prepare_v2(be->db, ctl_sql[c], -1, &be->ctl[c], NULL) != SQLITE_OK) {
			rc = be_fail(be, ctl_sql[c]);
			goto out;
		}
	*out = be;
	*ops = &sqlite_ops;
	be = NULL;
	rc = 0;
out:
	if (be)
		sqlite_close(be);
	return rc;
}

static struct sp_str col(sqlite3_stmt *s, int i)
{
	const char *p = (const char *)sqlite3_column_text(s, i);
	return p ? sp_str_make(p, (size_t)sqlite3_column_bytes(s, i)) : SP_STR_NULL;
}

int sp_store_cdr_list(const char *file, size_t limit, sp_store_cdr_h cb, void *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = SP_EINVAL;

	if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sp_log(SP_LOG_ERR, "store: cannot open %s: %s", file,
		       db ? sqlite3_errmsg(db) : "out of memory");
		rc = SP_ENOENT;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	/* The newest `limit`, printed oldest first. */
	if (sqlite3_prepare_v2(db,
			       "SELECT id, call_id, start_ms, answer_ms, end_ms, status, caller, callee,"
			       " ingress, egress, federation, reason FROM (SELECT * FROM cdr"
			       " ORDER BY start_ms DESC, id DESC LIMIT ?1) ORDER BY start_ms, id",
			       -1, &s, NULL) != SQLITE_OK) {
		sp_log(SP_LOG_ERR, "store: %s has no call records table: %s", file, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sp_store_cdr r = {
			.id = col(s, 0), .call_id = col(s, 1),
			.start_ms = (uint64_t)sqlite3_column_int64(s, 2),
			.answer_ms = (uint64_t)sqlite3_column_int64(s, 3),
			.end_ms = (uint64_t)sqlite3_column_int64(s, 4),
			.status = (uint16_t)sqlite3_column_int(s, 5),
			.caller = col(s, 6), .callee = col(s, 7), .ingress = col(s, 8),
			.egress = col(s, 9), .federation = col(s, 10), .reason = col(s, 11),
		};
		if ((rc = cb(&r, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : SP_EINVAL;
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}
