/*
 * checkpoint.c: the collector's checkpoint, written after each interval
 * and read back at start.
 *
 * It holds the raw counters and the totals together, written atomically
 * (fio_replace_at), so after a crash the next run computes its deltas
 * from the checkpoint's counters and whatever happened since is counted
 * exactly once, whichever moment the crash came at.
 *
 * Checkpoint format (text, so a person can read it): a "xenos-checkpoint 1"
 * line, a "collector" line, "dom"/"tenant" lines of key=value fields
 * (strings percent-encoded), and an "end" line with the CRC-32C of
 * everything before it.  Fields are only ever added; a reader ignores
 * those it does not know and takes a missing one as 0 (a boot id: "",
 * not known).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/acct.h>
#include <xenos/crc32c.h>
#include <xenos/fileio.h>
#include <xenos/hex.h>
#include <xenos/text.h>

#include "collector_impl.h"

#define CKPT_MAGIC      "xenos-checkpoint 1"

/* ------------------------------------------------------------------ */
/* Checkpoint                                                          */

/* Percent-encode @s so it is one token: no space, '=', '%', control or
 * non-ASCII byte survives as itself. */
static void put_str(struct txt_buf *b, const char *key, const char *s)
{
    txt_putc(b, ' ');
    txt_puts(b, key);
    txt_putc(b, '=');
    if ( !s )
    {
        txt_puts(b, "%00");     /* NULL; a real string never has a NUL */
        return;
    }
    if ( !*s )
        txt_putc(b, '%');       /* empty */
    for ( ; *s; s++ )
    {
        unsigned char ch = (unsigned char)*s;

        if ( ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '=' )
        {
            char esc[3];

            hex_pct(esc, ch, false);
            txt_put(b, esc, 3);
        }
        else
            txt_putc(b, (char)ch);
    }
}

static void put_u64(struct txt_buf *b, const char *key, uint64_t v)
{
    txt_putc(b, ' ');
    txt_puts(b, key);
    txt_putc(b, '=');
    txt_put_u64(b, v);
}

#define RAW_FIELDS(X) \
    X(cpu_ns) X(vbd_rd_reqs) X(vbd_wr_reqs) X(vbd_rd_sectors) \
    X(vbd_wr_sectors) X(vif_rx_bytes) X(vif_tx_bytes) X(vif_rx_pkts) \
    X(vif_tx_pkts) X(vif_rx_errs) X(vif_tx_errs) X(vif_rx_drop) \
    X(vif_tx_drop) X(wait_ns) X(throttled_ns)

static void put_usage(struct txt_buf *b, const struct acct_usage *u)
{
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help) \
    put_u64(b, "t." #name, u->name);
#include <xenos/counters.def>
#undef XENOS_COUNTER
}

static void put_u64_list(struct txt_buf *b, const char *key,
                         const uint64_t *v, uint32_t n)
{
    uint32_t i;

    txt_putc(b, ' ');
    txt_puts(b, key);
    txt_putc(b, '=');
    for ( i = 0; i < n; i++ )
    {
        if ( i )
            txt_putc(b, ',');
        txt_put_u64(b, v[i]);
    }
    if ( !n )
        txt_putc(b, '-');
}

static void write_body(struct acct_collector *c, struct txt_buf *b)
{
    uint32_t i;

    txt_puts(b, CKPT_MAGIC "\ncollector");
    put_u64(b, "last_sample_ns", c->last_sample_ns);
    put_u64(b, "intervals", c->intervals);
    put_str(b, "boot", c->boot_id);
    put_u64(b, "boot_seq", c->boot_seq);
    put_u64(b, "host_reboots", c->host_reboots);
    for ( i = 0; i < ACCT_NR_ERR_KINDS; i++ )
    {
        txt_puts(b, " e.");
        txt_puts(b, acct_err_names[i]);
        txt_putc(b, '=');
        txt_put_u64(b, c->errors[i]);
    }
    txt_putc(b, '\n');
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];

        txt_puts(b, "dom uuid=");
        txt_puts(b, d->uuid);
        put_u64(b, "domid", d->domid);
        put_u64(b, "created", d->created_ns);
        put_u64(b, "boot_seq", d->boot_seq);
        put_u64(b, "present", d->present);
        put_u64(b, "resets", d->resets);
        put_u64(b, "seen", d->last_seen_ns);
        put_u64(b, "mem_rem", d->mem_rem);
        put_str(b, "name", d->name);
        put_str(b, "tenant", d->tenant);
#define X(n) put_u64(b, "l." #n, d->last.n);
        RAW_FIELDS(X)
#undef X
        put_usage(b, &d->total);
        put_u64_list(b, "vl", d->vcpu_last_ns, d->nr_vcpus);
        put_u64_list(b, "vt", d->vcpu_total_ns, d->nr_vcpus);
        /* the hypervisor's window histogram as last seen, so a restart
         * does not take a life's whole histogram for one interval's */
        put_u64_list(b, "wl", d->win_last, ACCT_NR_WINDOWS);
        txt_putc(b, '\n');
    }
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        txt_puts(b, "tenant");
        put_str(b, "name", c->tenants[i].name);
        put_usage(b, &c->tenants[i].total);
        txt_putc(b, '\n');
    }
}

int acct_collector_checkpoint(struct acct_collector *c)
{
    struct txt_buf *b = &c->ckpt_buf;
    char tmp[NAME_MAX + 1], end[32];
    int rc;

    txt_buf_reset(b);
    write_body(c, b);
    snprintf(end, sizeof(end), "end crc32c=%08x\n", crc32c(0, b->p, b->len));
    txt_puts(b, end);
    if ( b->oom )
    {
        rc = -ENOMEM;
        goto out;
    }
    if ( snprintf(tmp, sizeof(tmp), "%s.tmp", c->checkpoint_name) >=
         (int)sizeof(tmp) )
    {
        rc = -ENAMETOOLONG;
        goto out;
    }
    rc = fio_replace_at(c->dir_fd, c->checkpoint_name, tmp, b->p, b->len,
                        0640);
 out:
    if ( rc )
        c->errors[ACCT_ERR_CHECKPOINT]++;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

/* Decode a put_str() token into a new string (*out NULL for "%00"). */
static int get_str(const char *v, char **out)
{
    char *s;

    *out = NULL;
    if ( !strcmp(v, "%00") )
        return 0;
    s = malloc(strlen(v) + 1);
    if ( !s )
        return -ENOMEM;
    if ( !strcmp(v, "%") )
        *s = '\0';             /* empty */
    else if ( hex_unescape(s, v) < 0 )
    {
        free(s);
        return -EBADMSG;
    }
    *out = s;
    return 0;
}

static int get_u64(const char *v, uint64_t *out)
{
    char *end;

    if ( !*v || *v == '-' )
        return -EBADMSG;
    errno = 0;
    *out = strtoull(v, &end, 10);
    return errno || *end ? -EBADMSG : 0;
}

static int get_u64_list(const char *v, uint64_t **out, uint32_t *n)
{
    uint32_t cnt = 0, i;
    const char *p;
    uint64_t *arr;

    *out = NULL;
    *n = 0;
    if ( !strcmp(v, "-") )
        return 0;
    for ( p = v, cnt = 1; *p; p++ )
        cnt += *p == ',';
    arr = calloc(cnt, sizeof(*arr));
    if ( !arr )
        return -ENOMEM;
    for ( i = 0, p = v; i < cnt; i++ )
    {
        char *end;

        errno = 0;
        arr[i] = strtoull(p, &end, 10);
        if ( errno || end == p || (*end != ',' && *end != '\0') )
        {
            free(arr);
            return -EBADMSG;
        }
        p = end + 1;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

static int usage_field(struct acct_usage *u, const char *k, const char *v)
{
    /* the name, or the one a checkpoint of before 2026-12-06 has */
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help)                 \
    if ( !strcmp(k, "t." #name) || !strcmp(k, "t." #was) )         \
        return get_u64(v, &u->name);
#include <xenos/counters.def>
#undef XENOS_COUNTER
    return 1;   /* not a usage field */
}

static int parse_dom(struct acct_collector *c, char *line)
{
    struct acct_dom tmp, *d;
    uint64_t *vl = NULL, *vt = NULL;
    uint32_t nvl = 0, nvt = 0;
    char *tok, *save = NULL;
    int rc = 0;

    memset(&tmp, 0, sizeof(tmp));
    tmp.created_ns = ACCT_CREATED_UNKNOWN;      /* unless the line says */
    for ( tok = strtok_r(line, " ", &save); tok && !rc;
          tok = strtok_r(NULL, " ", &save) )
    {
        char *v = strchr(tok, '=');
        uint64_t x = 0;

        if ( !v )
        {
            rc = -EBADMSG;
            break;
        }
        *v++ = '\0';
        if ( !strcmp(tok, "uuid") )
        {
            if ( strlen(v) != ACCT_UUID_LEN )
                rc = -EBADMSG;
            else
                memcpy(tmp.uuid, v, ACCT_UUID_LEN + 1);
        }
        else if ( !strcmp(tok, "domid") )
        {
            rc = get_u64(v, &x);
            tmp.domid = (uint32_t)x;
        }
        else if ( !strcmp(tok, "created") )
            rc = get_u64(v, &tmp.created_ns);
        else if ( !strcmp(tok, "boot_seq") )
            rc = get_u64(v, &tmp.boot_seq);
        else if ( !strcmp(tok, "present") )
        {
            rc = get_u64(v, &x);
            tmp.present = x != 0;
        }
        else if ( !strcmp(tok, "resets") )
            rc = get_u64(v, &tmp.resets);
        else if ( !strcmp(tok, "seen") )
            rc = get_u64(v, &tmp.last_seen_ns);
        else if ( !strcmp(tok, "mem_rem") )
            rc = get_u64(v, &tmp.mem_rem);
        /* A key given twice: the last one counts (and the first one's
         * memory is not lost). */
        else if ( !strcmp(tok, "name") )
        {
            free(tmp.name);
            rc = get_str(v, &tmp.name);
        }
        else if ( !strcmp(tok, "tenant") )
        {
            free(tmp.tenant);
            rc = get_str(v, &tmp.tenant);
        }
        else if ( !strcmp(tok, "vl") )
        {
            free(vl);
            vl = NULL;
            rc = get_u64_list(v, &vl, &nvl);
        }
        else if ( !strcmp(tok, "vt") )
        {
            free(vt);
            vt = NULL;
            rc = get_u64_list(v, &vt, &nvt);
        }
        else if ( !strcmp(tok, "wl") )
        {
            uint64_t *wl = NULL;
            uint32_t nwl = 0;

            rc = get_u64_list(v, &wl, &nwl);
            if ( !rc && nwl != ACCT_NR_WINDOWS )
                rc = -EBADMSG;
            if ( !rc )
                memcpy(tmp.win_last, wl, sizeof(tmp.win_last));
            free(wl);
        }
#define X(n) else if ( !strcmp(tok, "l." #n) ) rc = get_u64(v, &tmp.last.n);
        RAW_FIELDS(X)
#undef X
        else
        {
            /* 1: a field from a later version, ignored */
            int r = usage_field(&tmp.total, tok, v);

            rc = r == 1 ? 0 : r;
        }
    }
    if ( !rc && (!tmp.uuid[0] || nvl != nvt ||
                 acct__dom_find(c, tmp.uuid)) )
        rc = -EBADMSG;
    /* Not in the checkpoint: an interval's, and none has passed yet. */
    if ( !rc && nvl && !(tmp.vcpu_delta_ns = calloc(nvl, sizeof(*vl))) )
        rc = -ENOMEM;
    if ( !rc && !(d = acct__dom_add(c, tmp.uuid)) )
        rc = -ENOMEM;
    if ( rc )
    {
        free(tmp.name);
        free(tmp.tenant);
        free(vl);
        free(vt);
        free(tmp.vcpu_delta_ns);
        return rc;
    }
    tmp.vcpu_last_ns = vl;
    tmp.vcpu_total_ns = vt;
    tmp.nr_vcpus = nvl;
    tmp.present = false;    /* until a sample says so */
    *d = tmp;
    return 0;
}

static int parse_tenant(struct acct_collector *c, char *line)
{
    struct acct_usage u = { 0 };
    char *tok, *save = NULL, *name = NULL;
    struct acct_tenant *t;
    int rc = 0;

    for ( tok = strtok_r(line, " ", &save); tok && !rc;
          tok = strtok_r(NULL, " ", &save) )
    {
        char *v = strchr(tok, '=');

        if ( !v )
            rc = -EBADMSG;
        else
        {
            *v++ = '\0';
            if ( !strcmp(tok, "name") )
            {
                free(name);
                rc = get_str(v, &name);
            }
            else if ( usage_field(&u, tok, v) < 0 )
                rc = -EBADMSG;
        }
    }
    if ( !rc && !name )
        rc = -EBADMSG;
    if ( !rc && !(t = acct__tenant(c, name)) )
        rc = -ENOMEM;
    if ( !rc )
        t->total = u;
    free(name);
    return rc;
}

/* A boot id token: what put_str wrote of a printable id, or "%" for
 * none (not known). */
static int get_boot(const char *v, char out[ACCT_BOOT_ID_MAX + 1])
{
    char *str;
    int rc = get_str(v, &str);

    if ( rc )
        return rc;
    if ( !str || strlen(str) > ACCT_BOOT_ID_MAX )
        rc = -EBADMSG;
    else
        memcpy(out, str, strlen(str) + 1);
    free(str);
    return rc;
}

static int parse_collector(struct acct_collector *c, char *line)
{
    char *tok, *save = NULL;
    int rc = 0;
    uint32_t i;

    for ( tok = strtok_r(line, " ", &save); tok && !rc;
          tok = strtok_r(NULL, " ", &save) )
    {
        char *v = strchr(tok, '=');

        if ( !v )
            return -EBADMSG;
        *v++ = '\0';
        if ( !strcmp(tok, "last_sample_ns") )
            rc = get_u64(v, &c->last_sample_ns);
        else if ( !strcmp(tok, "intervals") )
            rc = get_u64(v, &c->intervals);
        else if ( !strcmp(tok, "boot") )
            rc = get_boot(v, c->boot_id);
        else if ( !strcmp(tok, "boot_seq") )
            rc = get_u64(v, &c->boot_seq);
        else if ( !strcmp(tok, "host_reboots") )
            rc = get_u64(v, &c->host_reboots);
        else if ( !strncmp(tok, "e.", 2) )
            for ( i = 0; i < ACCT_NR_ERR_KINDS; i++ )
                if ( !strcmp(tok + 2, acct_err_names[i]) )
                    rc = get_u64(v, &c->errors[i]);
    }
    return rc;
}

int acct__checkpoint_load(struct acct_collector *c, char *err,
                          size_t errlen)
{
    char *buf = NULL, *line, *next, *end;
    unsigned int lineno = 0;
    size_t len;
    uint32_t want;
    int rc;

    rc = fio_slurp_at(c->dir_fd, c->checkpoint_name, &buf, &len);
    if ( rc )
        return rc;

    /* Whole and unchanged? */
    end = len ? strstr(buf, "\nend crc32c=") : NULL;
    if ( !end || sscanf(end + 12, "%8x", &want) != 1 ||
         crc32c(0, buf, (size_t)(end + 1 - buf)) != want )
    {
        snprintf(err, errlen, "%s: truncated or damaged (no valid end "
                 "line)", c->checkpoint_path);
        rc = -EBADMSG;
        goto out;
    }
    end[1] = '\0';
    for ( line = buf; *line && !rc; line = next )
    {
        next = strchr(line, '\n');
        if ( next )
            *next++ = '\0';
        else
            next = line + strlen(line);
        lineno++;
        if ( lineno == 1 )
            rc = strcmp(line, CKPT_MAGIC) ? -EBADMSG : 0;
        else if ( !strncmp(line, "collector ", 10) )
            rc = parse_collector(c, line + 10);
        else if ( !strncmp(line, "dom ", 4) )
            rc = parse_dom(c, line + 4);
        else if ( !strncmp(line, "tenant ", 7) )
            rc = parse_tenant(c, line + 7);
        else
            rc = -EBADMSG;
        if ( rc == -EBADMSG )
            snprintf(err, errlen, "%s:%u: malformed checkpoint line",
                     c->checkpoint_path, lineno);
    }
    if ( !rc )
        c->have_baseline = true;
 out:
    free(buf);
    return rc;
}

