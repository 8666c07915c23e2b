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

/* ASCII lowering by table: one load instead of two compares per byte. */
const unsigned char sp_lower_tab[256] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
	48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
	64, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 91, 92, 93, 94, 95,
	96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
	128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
	144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159,
	160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175,
	176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
	192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207,
	208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223,
	224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
	240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
};
