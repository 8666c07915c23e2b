/* values.h: private to src/config/: value syntax checks; each returns NULL when fine, else why not (static text). */
#ifndef SP_CONFIG_VALUES_H
#define SP_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/str.h"

/* A numeric IPv4 or IPv6 address (no brackets), port 0. */
const char *sp_cfg_parse_ip(struct sp_str host, struct sp_sockaddr *out);
void sp_cfg_set_port(struct sp_sockaddr *a, uint16_t port);
/* 1..65535. */
const char *sp_cfg_parse_port(struct sp_str s, uint16_t *out);
/* "192.0.2.1:5060" or "[2001:db8::1]:5060"; the port is required. */
const char *sp_cfg_parse_hostport(struct sp_str s, struct sp_sockaddr *out);
/* "addr/len" or a bare address (a host block). */
const char *sp_cfg_parse_cidr(struct sp_str s, struct sp_cidr *out);
/* A DNS host name; "*." in front when wildcard. */
const char *sp_cfg_check_hostname(struct sp_str s, bool wildcard);
/* "+" and min_digits..15 digits. */
const char *sp_cfg_check_e164(struct sp_str s, size_t min_digits);
const char *sp_cfg_check_digits(struct sp_str s, size_t min, size_t max);
/* A SIP user part without escapes. */
const char *sp_cfg_check_user(struct sp_str s);
/* Names of peers and federations: letters, digits, '-', '_', '.'. */
const char *sp_cfg_check_name(struct sp_str s);

#endif
