/*
 * hex.h: the one hex codec: digits, the %XX escapes of xenos's line
 * formats (checkpoint, the simulated host's protocol, RRD file names),
 * and uuids written from their 16 bytes.
 */
#ifndef XENOS_HEX_H
#define XENOS_HEX_H

#include <stdbool.h>
#include <stdint.h>

#define HEX_UUID_LEN    36      /* 8-4-4-4-12 digits and dashes */

/* The value of hex digit @c, either case: 0..15, or -1. */
int hex_val(int c);

/* The byte written as the two hex digits at @s: 0..255, or -1 (a
 * non-digit, or the string ends first). */
int hex_byte(const char *s);

/* "%XX" for @ch into @out (no NUL), upper- or lowercase digits. */
void hex_pct(char out[3], unsigned char ch, bool upper);

/* Decode the %XX escapes of @src into @dst, which may be @src itself (the
 * result is never longer) and must hold strlen(@src) + 1 bytes.  Returns
 * the length decoded, or -1 for a bad escape or an escaped NUL (a string
 * that held one would be cut short by every reader). */
long hex_unescape(char *dst, const char *src);

/* @b as a uuid, lowercase 8-4-4-4-12, NUL-terminated. */
void hex_uuid(const uint8_t b[16], char out[HEX_UUID_LEN + 1]);

/* @s if it is a uuid (8-4-4-4-12 hex digits, either case), lower-cased
 * into @out: 0, or -EINVAL (@out untouched).  @out may be @s. */
int hex_uuid_parse(const char *s, char out[HEX_UUID_LEN + 1]);

#endif /* XENOS_HEX_H */
