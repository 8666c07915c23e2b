/* testutil.h: helpers shared by the tests: corpus location, file reading. */
#ifndef SP_TESTUTIL_H
#define SP_TESTUTIL_H

#include <stddef.h>

/* The corpus directory: $SIPEER_TESTDATA, else ../shared/testdata beside the
 * source tree; NULL when neither exists (the caller then skips, by name). */
const char *tu_testdata_dir(void);

/* Reads a whole file into a fresh heap buffer (caller frees); NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* A SQLite database file in a fresh directory under /tmp (for store and
 * registrar tests); tu_tmpdb_remove deletes it with its WAL files and the
 * directory, and returns 0 when all of it could be removed. */
struct tu_tmpdb {
	char dir[64];
	char file[96];
	char spec[128]; /* "sqlite:FILE", for sp_store_open */
};
int tu_tmpdb_make(struct tu_tmpdb *t, const char *tag);
int tu_tmpdb_remove(struct tu_tmpdb *t);

/* Deterministic pseudo-random numbers for split tests (xorshift). */
unsigned tu_rand(unsigned *state);

#endif
