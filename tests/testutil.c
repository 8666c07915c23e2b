/* testutil.c: helpers shared by the tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p)
{
	struct stat st;
	return p && *p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tu_testdata_dir(void)
{
	const char *env = getenv("SIPEER_TESTDATA");
	if (is_dir(env))
		return env;
	env = getenv("SIPEER_TESTDATA_DEFAULT");
	if (is_dir(env))
		return env;
	return NULL;
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		*len = n;
	return buf;
}

unsigned tu_rand(unsigned *state)
{
	unsigned x = *state ? *state : 2463534242u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

int tu_tmpdb_make(struct tu_tmpdb *t, const char *tag)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/sipeer-%s-XXXXXX", tag);
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->file, sizeof(t->file), "%s/loc.db", t->dir);
	snprintf(t->spec, sizeof(t->spec), "sqlite:%s", t->file);
	return 0;
}

int tu_tmpdb_remove(struct tu_tmpdb *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->file, sfx[i]);
		unlink(p);
	}
	return rmdir(t->dir);
}
