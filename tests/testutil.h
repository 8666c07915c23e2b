/* testutil.h: helpers shared by the tests: corpus location, file reading. */
#ifndef SP_TESTUTIL_H
#define SP_TESTUTIL_H

#include <stddef.h>

/* The corpus directory: $SIPEER_TESTDATA, else ../shared/testdata beside the
 * source tree; NULL when neither exists (the caller then skips, by name). */
const char *tu_testdata_dir(void);

/* Reads a whole file into a fresh heap buffer (caller frees); NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* Deterministic pseudo-random numbers for split tests (xorshift). */
unsigned tu_rand(unsigned *state);

#endif
