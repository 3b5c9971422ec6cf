/*
 * usage_impl.h: what the ledger's writer (usage.c), reader (usage_read.c)
 * and framing (usage_frame.c) share: the format's constants, the counters
 * a record carries, and the frame and file primitives.  Not an API.
 */
#ifndef XENOS_USAGE_IMPL_H
#define XENOS_USAGE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/crc32c.h>
#include <xenos/exp_usage.h>
#include <xenos/text.h>

#include "usage.pb-c.h"

#define USAGE_MAGIC         "XENOSUL\n"
#define USAGE_STATE_MAGIC   "XENOSUS\n"
#define USAGE_MAGIC_LEN     8
#define USAGE_VERSION       1
#define USAGE_PREAMBLE_LEN  (USAGE_MAGIC_LEN + 4)
#define USAGE_FRAME_OVERHEAD 8          /* length and CRC */
#define USAGE_NS_PER_S      1000000000ull
#define USAGE_NAME_LEN      40          /* "usage-YYYYmmddTHHMMSSZ.xul" */
/* A record's packed size is at most this plus its strings: 19 fields of
 * at most a 2-byte tag and a 10-byte varint, 4 of them with a length. */
#define USAGE_RECORD_FIXED_MAX  (19 * 12 + 4 * 5)

/*
 * The counters a record and a base carry, under the names of counters.def
 * (LEDGER 1), which are also their fields in usage.proto and in struct
 * acct_usage: a name missing in either fails to compile, and the count is
 * checked against counters.def below.
 */
#define USAGE_FIELDS(X)                                                 \
    X(cpu_ns) X(memory_byte_seconds) X(vbd_read_bytes)                  \
    X(vbd_write_bytes) X(vbd_read_ops) X(vbd_write_ops)                 \
    X(vif_rx_bytes) X(vif_tx_bytes)

#define X(f) + 1
enum { USAGE_NR_FIELDS = 0 USAGE_FIELDS(X) };
#undef X
enum {
    USAGE_NR_LEDGER = 0
#define XENOS_COUNTER(name, ledger, rrd, was, help) + ledger
#include <xenos/counters.def>
#undef XENOS_COUNTER
};
_Static_assert((int)USAGE_NR_FIELDS == (int)USAGE_NR_LEDGER,
               "USAGE_FIELDS and counters.def's LEDGER column disagree");

struct usage_scan {
    const uint8_t *b;
    size_t n;
    int (*on_rec)(void *ctx, const Xenos__UsageRecord *m, uint64_t off);
    exp_usage_damage_cb damage;
    void *ctx;
    Xenos__UsageFileHeader *hdr;        /* unpacked, or NULL */
    size_t good_end;                    /* end of the last whole frame */
    bool damaged;
    bool ix_ready;                      /* ix built (at the first resync) */
    struct crc32c_index ix;
};

/* The u32 stored little-endian at @p. */
uint32_t usage_get_le32(const uint8_t *p);

/* Start @b afresh with a file's preamble: @magic and the version. */
int usage_put_preamble(struct txt_buf *b, const char *magic);

/* Append @m as one frame to @b: 0 or -ENOMEM / -EMSGSIZE. */
int usage_put_frame(struct txt_buf *b, const ProtobufCMessage *m);

/*
 * Append a record frame, packing straight into the buffer: @bound is at
 * least its packed size (get_packed_size would walk the message a second
 * time, 7% of the ledger's CPU).
 */
int usage_put_record_frame(struct txt_buf *b, const Xenos__UsageRecord *r,
                           size_t bound);

/* Is there a whole frame with a good CRC at @off?  Sets *@len. */
bool usage_frame_at(const uint8_t *b, size_t n, size_t off, uint32_t *len);

/* Scan @sc->b: the header, then every whole record to @sc->on_rec and
 * every damaged span to @sc->damage; 0 or -errno. */
int usage_scan_file(struct usage_scan *sc);

/* The whole of @path into *@buf (malloc'd), its size to *@len. */
int usage_slurp(const char *path, uint8_t **buf, size_t *len);

#endif /* XENOS_USAGE_IMPL_H */
