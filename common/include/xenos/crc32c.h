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

/*
 * The CRC of any stretch of one buffer in constant time, after one linear
 * pass over it: what a reader needs that looks for a frame at every offset
 * of a damaged file (computing each candidate's CRC afresh costs its
 * length, so a file crafted with long lengths everywhere made such a scan
 * quadratic).
 *
 * How: with C(i) the CRC of the first i bytes, the CRC of [a, c) is
 * C(c) ^ C(a) * x^(8 (c - a)) in GF(2)[x] mod the polynomial (the identity
 * zlib's crc32_combine rests on).  C is kept every CRC32C_INDEX_STEP bytes
 * (the bytes between are hashed again: at most STEP - 1 of them), and the
 * powers x^(8k) come from two tables, k's low 8 bits and the rest.
 * Memory: about @len / 13 bytes.
 */
#define CRC32C_INDEX_STEP   64u

struct crc32c_index {
    const unsigned char *buf;           /* not owned */
    size_t len;
    uint32_t *mark;                     /* C(i * STEP), i <= len / STEP */
    uint32_t *hi;                       /* x^(2048 j), j <= len / 256 */
    uint32_t lo[256];                   /* x^(8 i) */
};

/* Index @len bytes at @buf (kept, not copied): 0 or -ENOMEM. */
int crc32c_index_init(struct crc32c_index *ix, const void *buf, size_t len);
void crc32c_index_deinit(struct crc32c_index *ix);

/* crc32c(0, buf + @off, @len), for @off + @len <= the indexed length. */
uint32_t crc32c_index_range(const struct crc32c_index *ix, size_t off,
                            size_t len);

#endif /* XENOS_CRC32C_H */
