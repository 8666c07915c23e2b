/* charset.c: builds the RFC 3261 character class table at compile time. */
#include "core/charset.h"

#define D (SP_CC_DIGIT | SP_CC_HEX | SP_CC_TOKEN | SP_CC_WORD | SP_CC_UNRESERVED | SP_CC_URIC)
#define AH (SP_CC_ALPHA | SP_CC_HEX | SP_CC_TOKEN | SP_CC_WORD | SP_CC_UNRESERVED | SP_CC_URIC)
#define A (SP_CC_ALPHA | SP_CC_TOKEN | SP_CC_WORD | SP_CC_UNRESERVED | SP_CC_URIC)
/* mark characters that are also token characters: - _ . ! ~ * ' */
#define MT (SP_CC_TOKEN | SP_CC_WORD | SP_CC_UNRESERVED | SP_CC_URIC)
/* mark characters that are word but not token: ( ) */
#define MW (SP_CC_WORD | SP_CC_UNRESERVED | SP_CC_URIC)
#define LWS SP_CC_LWS

const uint16_t sp_charset[256] = {
	['\t'] = LWS, ['\r'] = LWS, ['\n'] = LWS, [' '] = LWS,
	['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D,
	['5'] = D, ['6'] = D, ['7'] = D, ['8'] = D, ['9'] = D,
	['a'] = AH, ['b'] = AH, ['c'] = AH, ['d'] = AH, ['e'] = AH, ['f'] = AH,
	['A'] = AH, ['B'] = AH, ['C'] = AH, ['D'] = AH, ['E'] = AH, ['F'] = AH,
	['g'] = A, ['h'] = A, ['i'] = A, ['j'] = A, ['k'] = A, ['l'] = A, ['m'] = A,
	['n'] = A, ['o'] = A, ['p'] = A, ['q'] = A, ['r'] = A, ['s'] = A, ['t'] = A,
	['u'] = A, ['v'] = A, ['w'] = A, ['x'] = A, ['y'] = A, ['z'] = A,
	['G'] = A, ['H'] = A, ['I'] = A, ['J'] = A, ['K'] = A, ['L'] = A, ['M'] = A,
	['N'] = A, ['O'] = A, ['P'] = A, ['Q'] = A, ['R'] = A, ['S'] = A, ['T'] = A,
	['U'] = A, ['V'] = A, ['W'] = A, ['X'] = A, ['Y'] = A, ['Z'] = A,
	['-'] = MT, ['_'] = MT, ['.'] = MT, ['!'] = MT, ['~'] = MT, ['*'] = MT, ['\''] = MT,
	['('] = MW, [')'] = MW,
	['%'] = SP_CC_TOKEN | SP_CC_WORD,
	['+'] = SP_CC_TOKEN | SP_CC_WORD | SP_CC_USER | SP_CC_PASSWORD | SP_CC_PARAM | SP_CC_HNV | SP_CC_URIC,
	['`'] = SP_CC_TOKEN | SP_CC_WORD,
	['<'] = SP_CC_WORD, ['>'] = SP_CC_WORD, ['\\'] = SP_CC_WORD, ['"'] = SP_CC_WORD,
	['{'] = SP_CC_WORD, ['}'] = SP_CC_WORD,
	[':'] = SP_CC_WORD | SP_CC_PARAM | SP_CC_HNV | SP_CC_URIC,
	['/'] = SP_CC_WORD | SP_CC_USER | SP_CC_PARAM | SP_CC_HNV | SP_CC_URIC,
	['['] = SP_CC_WORD | SP_CC_PARAM | SP_CC_HNV,
	[']'] = SP_CC_WORD | SP_CC_PARAM | SP_CC_HNV,
	['?'] = SP_CC_WORD | SP_CC_USER | SP_CC_HNV | SP_CC_URIC,
	['&'] = SP_CC_USER | SP_CC_PASSWORD | SP_CC_PARAM | SP_CC_URIC,
	['='] = SP_CC_USER | SP_CC_PASSWORD | SP_CC_URIC,
	['$'] = SP_CC_USER | SP_CC_PASSWORD | SP_CC_PARAM | SP_CC_HNV | SP_CC_URIC,
	[','] = SP_CC_USER | SP_CC_PASSWORD | SP_CC_URIC,
	[';'] = SP_CC_USER | SP_CC_URIC,
	['@'] = SP_CC_URIC,
};
