/*
 * num.h: numbers written by people (configuration files, command lines,
 * control requests), parsed strictly: a whole string or an error, never a
 * prefix, never a silent wrap.
 */
#ifndef XENOS_NUM_H
#define XENOS_NUM_H

#include <stdint.h>

/*
 * Parse a whole string as a decimal integer in [@min, @max]: an optional
 * sign, then digits only (no spaces, no "0x", no "1.5", no "10s": libcyaml's
 * own integer type and strtoll accept some of those, silently, which is
 * why loaders read numbers as strings and parse them here).
 *
 * Returns 0 and sets *@out; -EINVAL if @s is not such a number; -ERANGE if
 * it is outside [@min, @max] (*@out is then set to the value when it fits
 * an int64_t, and to @min or @max otherwise, for the message).
 */
int num_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Parse a decimal number with at most @decimals digits after the point
 * ("1.25" with @decimals 3) and return it scaled by 10^@decimals in *@out
 * (1250): exact, so microseconds become nanoseconds without rounding.
 * @decimals is at most 18.
 *
 * Returns 0; -EINVAL if @s is not such a number (too many decimals
 * included); -ERANGE if the scaled value does not fit an int64_t.
 */
int num_parse_fixed(const char *s, unsigned int decimals, int64_t *out);

#endif /* XENOS_NUM_H */
