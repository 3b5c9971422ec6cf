/*
 * usage_frame.c: the ledger's frames (docs/usage-format.md): a preamble,
 * then u32 LE length, payload, u32 LE CRC-32C of both; and scanning a
 * file for its whole frames, resynchronising past damage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenos/crc32c.h>
#include <xenos/fileio.h>
#include <xenos/exp_usage.h>
#include <xenos/strmap.h>

#include "usage_impl.h"

/* ------------------------------------------------------------------ */
/* Bytes                                                               */

/* Room for @n more bytes at the end of @b, or NULL (out of memory). */
static uint8_t *buf_room(struct txt_buf *b, size_t n)
{
    return (uint8_t *)txt_reserve(b, n);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t usage_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Start @b afresh with a file's preamble: @magic and the version. */
int usage_put_preamble(struct txt_buf *b, const char *magic)
{
    uint8_t *p;

    txt_buf_reset(b);
    p = buf_room(b, USAGE_PREAMBLE_LEN);
    if ( !p )
        return -ENOMEM;
    memcpy(p, magic, USAGE_MAGIC_LEN);
    put_le32(p + USAGE_MAGIC_LEN, USAGE_VERSION);
    b->len = USAGE_PREAMBLE_LEN;
    return 0;
}

/* Append @m as one frame to @b: 0 or -ENOMEM / -EMSGSIZE. */
int usage_put_frame(struct txt_buf *b, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *p;

    if ( n > UINT32_MAX - USAGE_FRAME_OVERHEAD )
        return -EMSGSIZE;
    p = buf_room(b, n + USAGE_FRAME_OVERHEAD);
    if ( !p )
        return -ENOMEM;
    put_le32(p, (uint32_t)n);
    protobuf_c_message_pack(m, p + 4);
    put_le32(p + 4 + n, crc32c(0, p, 4 + n));
    b->len += n + USAGE_FRAME_OVERHEAD;
    return 0;
}

/*
 * Append a record frame, packing straight into the buffer: @bound is at
 * least its packed size (get_packed_size would walk the message a second
 * time, 7% of the ledger's CPU).
 */
int usage_put_record_frame(struct txt_buf *b, const Xenos__UsageRecord *r,
                           size_t bound)
{
    uint8_t *p;
    size_t n;

    if ( bound > UINT32_MAX - USAGE_FRAME_OVERHEAD )
        return -EMSGSIZE;
    p = buf_room(b, bound + USAGE_FRAME_OVERHEAD);
    if ( !p )
        return -ENOMEM;
    n = xenos__usage_record__pack(r, p + 4);
    put_le32(p, (uint32_t)n);
    put_le32(p + 4 + n, crc32c(0, p, 4 + n));
    b->len += n + USAGE_FRAME_OVERHEAD;
    return 0;
}

/* Is there a whole frame with a good CRC at @off?  Sets *@len. */
bool usage_frame_at(const uint8_t *b, size_t n, size_t off, uint32_t *len)
{
    uint32_t l;

    if ( n - off < USAGE_FRAME_OVERHEAD )
        return false;
    l = usage_get_le32(b + off);
    if ( l > n - off - USAGE_FRAME_OVERHEAD )
        return false;
    *len = l;
    return crc32c(0, b + off, 4 + (size_t)l) == usage_get_le32(b + off + 4 + l);
}

/* Why is there no whole frame at @off? */
static const char *frame_fault(const uint8_t *b, size_t n, size_t off)
{
    if ( n - off < USAGE_FRAME_OVERHEAD )
        return "cut short (less than a frame)";
    if ( usage_get_le32(b + off) > n - off - USAGE_FRAME_OVERHEAD )
        return "length runs past the end of the file";
    return "CRC-32C mismatch";
}

/* ------------------------------------------------------------------ */
/* Scanning a file                                                     */

static void scan_damage(struct usage_scan *sc, size_t off, size_t len,
                        const char *why)
{
    sc->damaged = true;
    if ( sc->damage )
        sc->damage(sc->ctx, off, len, why);
}

/*
 * usage_frame_at() for the scan: once the file has shown damage, through the
 * index, so that a frame claiming a long length costs nothing when its CRC
 * is wrong (else a file of tiny good frames, each after a bad one claiming
 * the rest of the file, would again cost O(n^2)).
 */
static bool scan_frame_at(const struct usage_scan *sc, size_t off,
                          uint32_t *len)
{
    uint32_t l;

    if ( !sc->ix_ready )
        return usage_frame_at(sc->b, sc->n, off, len);
    if ( sc->n - off < USAGE_FRAME_OVERHEAD )
        return false;
    l = usage_get_le32(sc->b + off);
    if ( l > sc->n - off - USAGE_FRAME_OVERHEAD )
        return false;
    *len = l;
    return crc32c_index_range(&sc->ix, off, 4 + (size_t)l) ==
           usage_get_le32(sc->b + off + 4 + l);
}

/*
 * The next offset from @off where a whole record starts, or @n; -ENOMEM.
 *
 * Every offset is a candidate, and a candidate's length may be anything up
 * to the end of the file: hashing each afresh made a file crafted with long
 * lengths everywhere cost O(n^2) (a 4 MiB one, 90 s).  The CRC of each
 * candidate comes from an index of the file instead, in constant time, so
 * the scan is linear; only a frame whose CRC matches is decoded.
 */
static ssize_t scan_resync(struct usage_scan *sc, size_t off)
{
    uint32_t len;

    if ( !sc->ix_ready )
    {
        if ( crc32c_index_init(&sc->ix, sc->b, sc->n) )
            return -ENOMEM;
        sc->ix_ready = true;
    }
    for ( ; off + USAGE_FRAME_OVERHEAD <= sc->n; off++ )
    {
        Xenos__UsageRecord *m;

        if ( !scan_frame_at(sc, off, &len) )
            continue;
        m = xenos__usage_record__unpack(NULL, len, sc->b + off + 4);
        if ( m )
        {
            xenos__usage_record__free_unpacked(m, NULL);
            return (ssize_t)off;
        }
    }
    return (ssize_t)sc->n;
}

/*
 * Every frame of the file in sc->b: the header to sc->hdr, records to
 * sc->on_rec, damage to sc->damage.  0, -EBADMSG (damage seen), -ENOMEM or
 * the callback's non-zero value.
 */
static int scan_frames(struct usage_scan *sc)
{
    const uint8_t *b = sc->b;
    size_t n = sc->n, off = USAGE_PREAMBLE_LEN;
    bool want_hdr = true;
    uint32_t len;
    ssize_t next;
    int rc;

    sc->good_end = 0;
    if ( n == 0 )
    {
        scan_damage(sc, 0, 0, "empty file (zero length, no header)");
        return -EBADMSG;
    }
    if ( n < USAGE_PREAMBLE_LEN || memcmp(b, USAGE_MAGIC, USAGE_MAGIC_LEN) )
    {
        next = scan_resync(sc, 0);
        if ( next < 0 )
            return (int)next;
        off = (size_t)next;
        scan_damage(sc, 0, off, n < USAGE_PREAMBLE_LEN
                    ? "cut short inside the file header"
                    : "not a xenos usage ledger (bad magic)");
        want_hdr = false;
    }
    else if ( usage_get_le32(b + USAGE_MAGIC_LEN) != USAGE_VERSION )
    {
        scan_damage(sc, USAGE_MAGIC_LEN, n - USAGE_MAGIC_LEN,
                    "unsupported format version");
        return -EBADMSG;
    }
    while ( off < n )
    {
        size_t bad;

        if ( scan_frame_at(sc, off, &len) )
        {
            const uint8_t *pl = b + off + 4;

            if ( want_hdr )
            {
                sc->hdr = xenos__usage_file_header__unpack(NULL, len, pl);
                want_hdr = false;
                if ( sc->hdr )
                {
                    off += len + USAGE_FRAME_OVERHEAD;
                    sc->good_end = off;
                    continue;
                }
            }
            else
            {
                Xenos__UsageRecord *m =
                    xenos__usage_record__unpack(NULL, len, pl);

                if ( m )
                {
                    rc = sc->on_rec ? sc->on_rec(sc->ctx, m, off) : 0;
                    xenos__usage_record__free_unpacked(m, NULL);
                    if ( rc )
                        return rc;
                    off += len + USAGE_FRAME_OVERHEAD;
                    sc->good_end = off;
                    continue;
                }
            }
            bad = off;
            next = scan_resync(sc, off + 1);
            if ( next < 0 )
                return (int)next;
            scan_damage(sc, bad, (size_t)next - bad,
                        want_hdr || !sc->good_end
                        ? "file header does not decode"
                        : "record does not decode (CRC good)");
        }
        else
        {
            const char *why = frame_fault(b, n, off);

            bad = off;
            next = scan_resync(sc, off + 1);
            if ( next < 0 )
                return (int)next;
            if ( want_hdr )
                why = "file header damaged";
            scan_damage(sc, bad, (size_t)next - bad, why);
        }
        want_hdr = false;
        off = (size_t)next;
    }
    return sc->damaged ? -EBADMSG : 0;
}

int usage_scan_file(struct usage_scan *sc)
{
    int rc = scan_frames(sc);

    if ( sc->ix_ready )
        crc32c_index_deinit(&sc->ix);
    sc->ix_ready = false;
    return rc;
}

/* The whole of @path into *@buf (malloc'd), its size to *@len. */
int usage_slurp(const char *path, uint8_t **buf, size_t *len)
{
    struct stat sb;
    uint8_t *p = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

    *buf = NULL;
    *len = 0;
    if ( fd < 0 )
        return -errno;
    if ( fstat(fd, &sb) )
    {
        rc = -errno;
        goto out;
    }
    p = malloc(sb.st_size ? (size_t)sb.st_size : 1);
    if ( !p )
    {
        rc = -ENOMEM;
        goto out;
    }
    while ( got < (size_t)sb.st_size )
    {
        ssize_t r = read(fd, p + got, (size_t)sb.st_size - got);

        if ( r < 0 && errno == EINTR )
            continue;
        if ( r < 0 )
        {
            rc = -errno;
            goto out;
        }
        if ( r == 0 )
            break;
        got += (size_t)r;
    }
 out:
    close(fd);
    if ( rc )
        free(p);
    else
    {
        *buf = p;
        *len = got;
    }
    return rc;
}
