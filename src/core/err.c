/* err.c: descriptions of the shared error codes. */
#include "core/err.h"

const char *sp_strerror(int err)
{
	switch (err) {
	case SP_OK: return "ok";
	case SP_EINVAL: return "malformed input";
	case SP_EAGAIN: return "need more input";
	case SP_ENOMEM: return "out of memory";
	case SP_E2BIG: return "limit reached";
	case SP_ENOENT: return "not present";
	case SP_ERANGE: return "number out of range";
	case SP_EDECLINED: return "declined";
	default: return "unknown error";
	}
}
