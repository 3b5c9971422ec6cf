/*
 * crc32c.h: CRC-32C (Castagnoli), as iSCSI, ext4 and our checkpoint and
 * usage files use it.  The SSE4.2 crc32 instruction when the CPU has it,
 * a table otherwise; both give the same values.
 */
#ifndef XENOS_CRC32C_H
#define XENOS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of @len bytes at @buf, continuing from @crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* XENOS_CRC32C_H */
