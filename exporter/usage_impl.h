/*
 * usage_impl.h: what the ledger's writer (usage.c, its state and recovery
 * in usage_state.c), reader (usage_read.c) and framing (usage_frame.c)
 * share: the format's constants, the counters a record carries, the frame
 * and file primitives, and the writer's structure.  Not an API.
 */
#ifndef XENOS_USAGE_IMPL_H
#define XENOS_USAGE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/crc32c.h>
#include <xenos/exp_usage.h>
#include <xenos/strmap.h>
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
/* A record's packed size is at most this plus its strings: 25 fields of
 * at most a 2-byte tag and a 10-byte varint, 4 of them with a length. */
#define USAGE_RECORD_FIXED_MAX  (25 * 12 + 4 * 5)

/*
 * The counters a record and a base carry (exp_usage.h's
 * EXP_USAGE_COUNTERS), under the names of counters.def
 * (LEDGER 1), which are also their fields in usage.proto and in struct
 * acct_usage: a name missing in either fails to compile, and the count is
 * checked against counters.def below.
 */
#define USAGE_FIELDS(X) EXP_USAGE_COUNTERS(X)

#define X(f) + 1
enum { USAGE_NR_FIELDS = 0 USAGE_FIELDS(X) };
#undef X
enum {
    USAGE_NR_LEDGER = 0
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help) + ledger
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

/* ------------------------------------------------------------------ */
/* The writer (usage.c) and its state and recovery (usage_state.c)     */

/*
 * What the writer keeps a base of: the ledger's counters, and the
 * scheduler's (fields 23, 24 of UsageRecord, and of UsageBase 10, 11),
 * which a record carries with sched_stats (22) saying whether the host
 * counted them; counters.def leaves them out of its LEDGER column, which
 * the readers' struct exp_usage_rec follows.
 */
#define USAGE_SCHED_FIELDS(X) X(wait_ns) X(throttled_ns)
#define USAGE_WRITER_FIELDS(X) USAGE_FIELDS(X) USAGE_SCHED_FIELDS(X)

struct usage_base {
#define X(f) uint64_t f;
    USAGE_WRITER_FIELDS(X)
#undef X
};

/* What the writer knows of one domain (by uuid). */
struct usage_ent {
    char uuid[ACCT_UUID_LEN + 1];       /* "" : free slot */
    bool seen;                          /* present at a sample of the open
                                         * interval */
    uint32_t vcpus_max;
    uint64_t mem_peak_bytes;
    uint32_t peak_window_pct;           /* most of any sample's, in the
                                         * open interval; not in the state:
                                         * a restart forgets the part
                                         * before it */
    /* What this process observed of the domain in the open interval
     * (wall ns; span_b 0: nothing): from the sample its counted usage
     * starts at, to the last sample that saw it (docs/usage-format.md,
     * "Span").  Not saved: a restart observes afresh. */
    uint64_t span_a, span_b;
    bool present_prev;                  /* present at the previous update */
    /* Its tenant at the last update that saw it (NULL: none), so that an
     * interval in which it changes is billed to each in turn (split_rec).
     * Not saved: a restart takes the tenant afresh, as the span. */
    char *tenant;
    bool tenant_known;
    struct usage_base base;             /* totals at its last record */
};

struct exp_usage {
    char *dir, *host;
    int dir_fd;                         /* dir, locked; -1: not open */
    uint64_t interval_ns, rotate_ns;
    struct usage_ent *tab;              /* in order of arrival, no deletes */
    uint32_t tab_cap, tab_n;
    struct strmap idx;                  /* tab[] by uuid */
    uint64_t next_seq;
    uint64_t open_start_ns;             /* 0: no interval open yet */
    uint64_t prev_sample_ns;            /* the last update's sample, in
                                         * this process; 0: none yet */
    bool bases_valid;                   /* else: take them at next update */
    bool state_dirty;                   /* must be saved (a save failed) */
    uint32_t state_every, unsaved;      /* intervals between saves */
    char file[USAGE_NAME_LEN];          /* file of the last record */
    struct usage_chunk *pend;
    uint32_t nr_pend, cap_pend;
    int fd;                             /* the file appended to, or -1 */
    uint64_t fd_period_ns;
    uint64_t fd_good;                   /* its size up to the last fsync */
    struct txt_buf sbuf;              /* state encoding, reused */
    struct usage_pair *scratch;         /* interval_close's, reused */
    uint32_t scratch_cap;
    struct exp_usage_stats st;
};

/* usage.c */

/* The whole of @name in the ledger directory into *@buf (malloc'd), its
 * size to *@len: never through a symbolic link (fio_slurp_at). */
int usage__slurp_at(struct exp_usage *w, const char *name, uint8_t **buf,
                    size_t *len);

/* The entry for @uuid, added (base zero) if new; NULL on ENOMEM.  Adding
 * may move the entries. */
struct usage_ent *usage__ent_get(struct exp_usage *w, const char *uuid);

/* Is @n a ledger file's name, "usage-YYYYmmddTHHMMSSZ.xul"? */
bool usage__is_ledger_name(const char *n);

/* usage_state.c */

/* Save usage.state (temporary, fsync, rename): 0 or -errno; a failure
 * leaves w->state_dirty set, to be tried again. */
int usage__state_save(struct exp_usage *w);

/* Load usage.state: 0, -ENOENT (none), -EBADMSG (damaged), -errno. */
int usage__state_load(struct exp_usage *w);

/* Scan the ledger files from w->file on, apply what the state lacks and
 * cut torn tails: 0 or -errno, with what was found damaged or refused
 * in @err. */
int usage__recover_files(struct exp_usage *w, char *err, size_t errlen);

#endif /* XENOS_USAGE_IMPL_H */
