/*
 * crc32c.c: CRC-32C (crc32c.h).  The table is built on first use; the
 * hardware path is chosen once, by asking the CPU.
 */
#include <stdbool.h>
#include <string.h>

#include <xenos/crc32c.h>

#define CRC32C_POLY 0x82f63b78u     /* reflected Castagnoli polynomial */

static uint32_t crc_table[256];
static bool crc_table_ready;

static void table_init(void)
{
    uint32_t i, c;
    int k;

    for ( i = 0; i < 256; i++ )
    {
        c = i;
        for ( k = 0; k < 8; k++ )
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        crc_table[i] = c;
    }
    crc_table_ready = true;
}

static uint32_t crc_soft(uint32_t crc, const unsigned char *p, size_t len)
{
    if ( !crc_table_ready )
        table_init();
    while ( len-- )
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t c = crc, w;

    while ( len >= 8 )
    {
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    while ( len-- )
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
    static int hw = -1;

    if ( hw < 0 )
        hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if ( hw )
        return ~crc_hw(~crc, buf, len);
#endif
    return ~crc_soft(~crc, buf, len);
}
