/*
 * text.h: writing untrusted strings (domain names, tenant names) into
 * structured text, escaped for the format, never truncated.  Shared by
 * every writer: the simulator's reports, xenosd's status, the exporters.
 */
#ifndef XENOS_TEXT_H
#define XENOS_TEXT_H

#include <stdio.h>

/*
 * Write @s as a JSON string, quotes included (NULL: null).  Control
 * characters, quote and backslash are escaped; bytes that are not valid
 * UTF-8 become U+FFFD; U+2028/2029 and DEL are escaped for line-based
 * consumers.  Errors are the stream's: check ferror(@f).
 */
void txt_json_str(FILE *f, const char *s);

#endif /* XENOS_TEXT_H */
