/* err.h: error codes shared by every layer (functions return 0 or a negative SP_E*). */
#ifndef SP_CORE_ERR_H
#define SP_CORE_ERR_H

enum {
	SP_OK = 0,
	SP_EINVAL = -1,   /* malformed input */
	SP_EAGAIN = -2,   /* need more input (stream framing) */
	SP_ENOMEM = -3,   /* allocation failed */
	SP_E2BIG = -4,    /* a hard cap was reached */
	SP_ENOENT = -5,   /* not present */
	SP_ERANGE = -6,   /* a number out of its range */
	SP_EDECLINED = -7 /* not mine: try the next handler */
};

/* sp_strerror returns a static description of an SP_E* code. */
const char *sp_strerror(int err);

#endif
