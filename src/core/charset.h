/* charset.h: RFC 3261 section 25 character classes as one lookup table. */
#ifndef SP_CORE_CHARSET_H
#define SP_CORE_CHARSET_H

#include <stdbool.h>
#include <stdint.h>

enum {
	SP_CC_DIGIT = 1 << 0,
	SP_CC_ALPHA = 1 << 1,
	SP_CC_HEX = 1 << 2,
	SP_CC_TOKEN = 1 << 3,      /* token: alphanum - . ! % * _ + ` ' ~ */
	SP_CC_WORD = 1 << 4,       /* word: token plus ( ) < > : \ " / [ ] ? { } */
	SP_CC_UNRESERVED = 1 << 5, /* alphanum / mark */
	SP_CC_USER = 1 << 6,       /* user-unreserved: & = + $ , ; ? / */
	SP_CC_PASSWORD = 1 << 7,   /* & = + $ , (besides unreserved) */
	SP_CC_PARAM = 1 << 8,      /* param-unreserved: [ ] / : & + $ */
	SP_CC_HNV = 1 << 9,        /* hnv-unreserved: [ ] / ? : + $ */
	SP_CC_LWS = 1 << 10,       /* SP HTAB CR LF */
	SP_CC_URIC = 1 << 11,      /* RFC 2396 uric: reserved / unreserved (escaped apart) */
};

extern const uint16_t sp_charset[256];
extern const unsigned char sp_lower_tab[256];

static inline bool sp_cc(char c, uint16_t cls)
{
	return (sp_charset[(unsigned char)c] & cls) != 0;
}

static inline bool sp_is_digit(char c) { return c >= '0' && c <= '9'; }
static inline bool sp_is_alpha(char c) { return sp_cc(c, SP_CC_ALPHA); }
static inline bool sp_is_alnum(char c) { return sp_cc(c, SP_CC_ALPHA | SP_CC_DIGIT); }
static inline bool sp_is_hex(char c) { return sp_cc(c, SP_CC_HEX); }
static inline bool sp_is_token(char c) { return sp_cc(c, SP_CC_TOKEN); }
static inline bool sp_is_word(char c) { return sp_cc(c, SP_CC_WORD); }
static inline bool sp_is_lws(char c) { return sp_cc(c, SP_CC_LWS); }
static inline bool sp_is_wsp(char c) { return c == ' ' || c == '\t'; }
static inline char sp_lower(char c)
{
	return (char)sp_lower_tab[(unsigned char)c];
}
static inline int sp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = sp_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
