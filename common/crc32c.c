/*
 * crc32c.c: CRC-32C (crc32c.h).  The table is built on first use; the
 * hardware path is chosen once, by asking the CPU.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
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

/* ------------------------------------------------------------------ */
/* Ranges (crc32c_index)                                              */

/* @a * @b mod the polynomial, bit-reflected as the CRC is: x^0 is the top
 * bit. */
static uint32_t crc_mul(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    int i;

    for ( i = 31; i >= 0 && a; i-- )
    {
        if ( a & (1u << i) )
        {
            p ^= b;
            a &= ~(1u << i);
        }
        b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1)));
    }
    return p;
}

#define CRC_X0  0x80000000u             /* x^0 */
#define CRC_X8  0x00800000u             /* x^8 */

int crc32c_index_init(struct crc32c_index *ix, const void *buf, size_t len)
{
    size_t i, nmark = len / CRC32C_INDEX_STEP + 1, nhi = len / 256 + 1;
    uint32_t step;

    memset(ix, 0, sizeof(*ix));
    ix->mark = malloc(nmark * sizeof(*ix->mark));
    ix->hi = malloc(nhi * sizeof(*ix->hi));
    if ( !ix->mark || !ix->hi )
    {
        crc32c_index_deinit(ix);
        return -ENOMEM;
    }
    ix->buf = buf;
    ix->len = len;
    ix->mark[0] = 0;
    for ( i = 1; i < nmark; i++ )
        ix->mark[i] = crc32c(ix->mark[i - 1],
                             ix->buf + (i - 1) * CRC32C_INDEX_STEP,
                             CRC32C_INDEX_STEP);
    ix->lo[0] = CRC_X0;
    for ( i = 1; i < 256; i++ )
        ix->lo[i] = crc_mul(ix->lo[i - 1], CRC_X8);
    step = crc_mul(ix->lo[255], CRC_X8);        /* x^2048 */
    ix->hi[0] = CRC_X0;
    for ( i = 1; i < nhi; i++ )
        ix->hi[i] = crc_mul(ix->hi[i - 1], step);
    return 0;
}

void crc32c_index_deinit(struct crc32c_index *ix)
{
    free(ix->mark);
    free(ix->hi);
    memset(ix, 0, sizeof(*ix));
}

/* C(@i): the CRC of the first @i bytes. */
static uint32_t crc_prefix(const struct crc32c_index *ix, size_t i)
{
    size_t m = i / CRC32C_INDEX_STEP;

    return crc32c(ix->mark[m], ix->buf + m * CRC32C_INDEX_STEP,
                  i - m * CRC32C_INDEX_STEP);
}

uint32_t crc32c_index_range(const struct crc32c_index *ix, size_t off,
                            size_t len)
{
    uint32_t x8n = crc_mul(ix->hi[len >> 8], ix->lo[len & 0xff]);

    return crc_prefix(ix, off + len) ^ crc_mul(x8n, crc_prefix(ix, off));
}
