/*
 * prometheus_render.c: the Prometheus exporter's rendering (exp_prom_render).
 *
 * Design.  Rendering writes text format 0.0.4 into a txt_buf, one family
 * after another (a family's lines must be contiguous).  Each present
 * domain's label set (uuid, name, tenant) is escaped once into a scratch
 * buffer and copied into each of its ~30 series, so the cost per series is
 * a few memcpy and one integer formatting.  Seconds are printed from
 * integer nanoseconds with all nine decimals, exactly.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/exp_prom.h>
#include <xenos/text.h>

#define PROM_NS_PER_S           1000000000ull


/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char prom_fffd[3] = { '\xef', '\xbf', '\xbd' };

/*
 * @s as a label value (without the quotes): backslash, double quote and
 * line feed escaped as the format says; every other valid UTF-8
 * character as it is; each byte that does not start a well-formed UTF-8
 * character becomes U+FFFD.  NULL is the empty string.
 */
static void prom_escape(struct txt_buf *b, const char *s)
{
    const char *run;

    if ( !s )
        return;
    for ( run = s; *s; )
    {
        unsigned char ch = (unsigned char)*s;
        uint32_t cp;
        size_t n;

        if ( ch < 0x80 && ch != '\\' && ch != '"' && ch != '\n' )
        {
            s++;
            continue;
        }
        txt_put(b, run, (size_t)(s - run));
        n = 1;
        if ( ch == '\\' )
            txt_put(b, "\\\\", 2);
        else if ( ch == '"' )
            txt_put(b, "\\\"", 2);
        else if ( ch == '\n' )
            txt_put(b, "\\n", 2);
        else if ( (n = txt_utf8_next(s, &cp)) == 0 )
        {
            txt_put(b, prom_fffd, sizeof(prom_fffd));
            n = 1;
        }
        else
            txt_put(b, s, n);
        s += n;
        run = s;
    }
    txt_put(b, run, (size_t)(s - run));
}

/* @ns as decimal seconds, all nine decimals: 1234567890 -> 1.234567890 */
static void prom_put_sec(struct txt_buf *b, uint64_t ns)
{
    char frac[10];
    uint64_t f = ns % PROM_NS_PER_S;
    int i;

    txt_put_u64(b, ns / PROM_NS_PER_S);
    frac[0] = '.';
    for ( i = 9; i >= 1; i-- )
    {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    txt_put(b, frac, sizeof(frac));
}

/* @pct percent as a ratio, exactly: 250 -> 2.50 */
static void prom_put_pct(struct txt_buf *b, uint32_t pct)
{
    char frac[3] = { '.', (char)('0' + pct % 100 / 10),
                     (char)('0' + pct % 10) };

    txt_put_u64(b, pct / 100);
    txt_put(b, frac, sizeof(frac));
}

static void prom_put_double(struct txt_buf *b, double v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%.9g", v);

    if ( n > 0 && (size_t)n < sizeof(buf) )
        txt_put(b, buf, (size_t)n);
    else
        txt_putc(b, '0');
}

/* "# HELP" and "# TYPE" of the family @prefix@name. */
static void prom_family(struct txt_buf *b, const char *prefix,
                        const char *name, const char *type,
                        const char *help)
{
    txt_puts(b, "# HELP ");
    txt_puts(b, prefix);
    txt_puts(b, name);
    txt_putc(b, ' ');
    txt_puts(b, help);
    txt_puts(b, "\n# TYPE ");
    txt_puts(b, prefix);
    txt_puts(b, name);
    txt_putc(b, ' ');
    txt_puts(b, type);
    txt_putc(b, '\n');
}

/* "@prefix@name{@labels" (the caller closes the braces). */
static void prom_series(struct txt_buf *b, const char *prefix,
                        const char *name, const char *labels, size_t len)
{
    txt_puts(b, prefix);
    txt_puts(b, name);
    txt_putc(b, '{');
    txt_put(b, labels, len);
}

/* Cumulative usage, the same families for domains and tenants, one per
 * counter of counters.def. */
struct prom_usage_family {
    const char *name;                   /* the counter's name */
    const char *help;
    size_t off;                         /* uint64_t in struct acct_usage */
    bool sched;                         /* only where sched_stats */
};

static const struct prom_usage_family prom_usage[] = {
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help) \
    { #name, help, offsetof(struct acct_usage, name), sched },
#include <xenos/counters.def>
#undef XENOS_COUNTER
};
#define PROM_NR_USAGE (sizeof(prom_usage) / sizeof(prom_usage[0]))
#define PROM_FAMILY_MAX 64

/* The family of counter @name: NAME_total, a name in ns shown in seconds
 * (cpu_ns: cpu_seconds_total).  Returns whether the values are ns. */
static bool prom_usage_family_name(const char *name,
                                   char out[PROM_FAMILY_MAX])
{
    size_t n = strlen(name);
    bool ns = n > 3 && !strcmp(name + n - 3, "_ns");

    snprintf(out, PROM_FAMILY_MAX, "%.*s%s_total", (int)(ns ? n - 3 : n),
             name, ns ? "_seconds" : "");
    return ns;
}

static uint64_t prom_usage_get(const struct acct_usage *u, size_t off)
{
    uint64_t v;

    memcpy(&v, (const char *)u + off, sizeof(v));
    return v;
}

static const char *const prom_mem_kinds[3] = { "current", "max", "target" };

/* Per-tenant sums of the domains' levels (the counters are in the
 * collector's tenant records already). */
struct prom_tenant_sum {
    uint64_t mem[3];
    uint64_t online_vcpus;
};

/* What one rendering works from. */
struct prom_r {
    struct txt_buf *b;
    const struct acct_snapshot *c;
    const struct exp_info *info;
    uint32_t nr;                        /* present domains */
    const struct acct_dom **doms;       /* the present ones */
    size_t *lab_off;                    /* nr + 1 offsets into lab */
    struct txt_buf lab;                 /* uuid, name, tenant escaped */
    struct txt_buf tlab;                /* tenant="..." of each tenant */
    size_t *tlab_off;                   /* nr_tenants + 1 */
    struct prom_tenant_sum *tsum;
    uint64_t interval_ns;               /* of the last sample, 0: none */
};

static const char *prom_dom_tenant(const struct acct_dom *d)
{
    return d->tenant ? d->tenant : "-";
}

/* The collector's index of the tenant named @name; @hint is tried first
 * (a domain's tenant is often the previous one's). */
static uint32_t prom_tenant_index(const struct acct_snapshot *c,
                                  const char *name, uint32_t hint)
{
    uint32_t i;

    if ( hint < c->nr_tenants && !strcmp(c->tenants[hint].name, name) )
        return hint;
    for ( i = 0; i < c->nr_tenants; i++ )
        if ( !strcmp(c->tenants[i].name, name) )
            return i;
    return UINT32_MAX;
}

/* Label sets and sums; -ENOMEM. */
static int prom_prepare(struct prom_r *r)
{
    const struct acct_snapshot *c = r->c;
    uint32_t i, k, hint = 0;

    r->doms = calloc(c->nr_doms + 1, sizeof(*r->doms));
    r->lab_off = calloc(c->nr_doms + 1, sizeof(*r->lab_off));
    r->tlab_off = calloc(c->nr_tenants + 1, sizeof(*r->tlab_off));
    r->tsum = calloc(c->nr_tenants + 1, sizeof(*r->tsum));
    if ( !r->doms || !r->lab_off || !r->tlab_off || !r->tsum )
        return -ENOMEM;
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];

        if ( !d->present )
            continue;
        r->doms[r->nr] = d;
        r->lab_off[r->nr++] = r->lab.len;
        txt_puts(&r->lab, "uuid=\"");
        prom_escape(&r->lab, d->uuid);
        txt_puts(&r->lab, "\",name=\"");
        prom_escape(&r->lab, d->name);
        txt_puts(&r->lab, "\",tenant=\"");
        prom_escape(&r->lab, prom_dom_tenant(d));
        txt_putc(&r->lab, '"');
        if ( !r->interval_ns )
            r->interval_ns = d->interval_ns;
        k = prom_tenant_index(c, prom_dom_tenant(d), hint);
        if ( k != UINT32_MAX )
        {
            r->tsum[k].mem[0] += d->mem_cur_bytes;
            r->tsum[k].mem[1] += d->mem_max_bytes;
            r->tsum[k].mem[2] += d->mem_target_bytes;
            r->tsum[k].online_vcpus += d->online_vcpus;
            hint = k;
        }
    }
    r->lab_off[r->nr] = r->lab.len;
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        r->tlab_off[i] = r->tlab.len;
        txt_puts(&r->tlab, "tenant=\"");
        prom_escape(&r->tlab, c->tenants[i].name);
        txt_putc(&r->tlab, '"');
    }
    r->tlab_off[c->nr_tenants] = r->tlab.len;
    return r->lab.oom || r->tlab.oom ? -ENOMEM : 0;
}

static const char *prom_dlab(const struct prom_r *r, uint32_t k,
                             size_t *len)
{
    *len = r->lab_off[k + 1] - r->lab_off[k];
    return r->lab.p ? r->lab.p + r->lab_off[k] : "";
}

static const char *prom_tlab(const struct prom_r *r, uint32_t k,
                             size_t *len)
{
    *len = r->tlab_off[k + 1] - r->tlab_off[k];
    return r->tlab.p ? r->tlab.p + r->tlab_off[k] : "";
}

/* Every usage family, for the present domains or for the tenants. */
static void prom_usage_families(const struct prom_r *r, bool tenants)
{
    const char *prefix = tenants ? "xenos_tenant_" : "xenos_domain_";
    uint32_t n = tenants ? r->c->nr_tenants : r->nr, i, k;
    struct txt_buf *b = r->b;

    for ( i = 0; i < PROM_NR_USAGE; i++ )
    {
        const struct prom_usage_family *f = &prom_usage[i];
        char fam[PROM_FAMILY_MAX];
        bool ns = prom_usage_family_name(f->name, fam);

        prom_family(b, prefix, fam, "counter", f->help);
        for ( k = 0; k < n; k++ )
        {
            uint64_t v = prom_usage_get(tenants ? &r->c->tenants[k].total
                                                : &r->doms[k]->total, f->off);
            size_t len;
            const char *l;

            /* Not counted by this host's scheduler: no series, rather
             * than a 0 that says "never waited" (docs/exporters.md). */
            if ( f->sched && !(tenants ? r->c->tenants[k].sched_stats
                                       : r->doms[k]->sched_stats) )
                continue;
            l = tenants ? prom_tlab(r, k, &len) : prom_dlab(r, k, &len);

            prom_series(b, prefix, fam, l, len);
            txt_puts(b, "} ");
            if ( ns )
                prom_put_sec(b, v);
            else
                txt_put_u64(b, v);
            txt_putc(b, '\n');
        }
    }
}

/* Where a family of one series per domain or tenant takes its value. */
enum prom_rec {
    PROM_DOM,                           /* struct acct_dom */
    PROM_TENANT,                        /* struct acct_tenant */
    PROM_TSUM,                          /* struct prom_tenant_sum */
};

/* ...and what the value is: a uint32 or uint64 as it is, a uint32
 * percentage as a ratio (prom_put_pct), an int as 1 when not 0; with
 * PROM_SCHED or'ed in, counted by the host's scheduler, so only where it
 * counts (sched_stats), as the SCHED counters of counters.def. */
enum prom_kind {
    PROM_U32,
    PROM_U64,
    PROM_PCT,
    PROM_NONZERO,
    PROM_SCHED = 0x10,
};

/*
 * A gauge or counter of one series per present domain (PROM_DOM) or per
 * tenant, labelled as every such series, its value the field at @off of
 * the record @rec names: one loop for every family that is a field.
 */
static void prom_field(struct prom_r *r, enum prom_rec rec, const char *name,
                       const char *type, const char *help, size_t off,
                       enum prom_kind kind)
{
    const char *prefix = rec == PROM_DOM ? "xenos_domain_" : "xenos_tenant_";
    uint32_t n = rec == PROM_DOM ? r->nr : r->c->nr_tenants, k, v32;
    const bool sched = (kind & PROM_SCHED) != 0;
    uint64_t v64;
    int vint;

    kind &= ~PROM_SCHED;

    prom_family(r->b, prefix, name, type, help);
    for ( k = 0; k < n; k++ )
    {
        const char *base = rec == PROM_DOM ? (const char *)r->doms[k]
                         : rec == PROM_TENANT ? (const char *)&r->c->tenants[k]
                                              : (const char *)&r->tsum[k];
        size_t len;
        const char *l;

        /* Not counted by this host's scheduler: no series, as for the
         * SCHED counters (prom_usage_families). */
        if ( sched &&
             !(rec == PROM_DOM ? r->doms[k]->sched_stats
                               : rec == PROM_TENANT &&
                                 r->c->tenants[k].sched_stats) )
            continue;
        l = rec == PROM_DOM ? prom_dlab(r, k, &len) : prom_tlab(r, k, &len);
        prom_series(r->b, prefix, name, l, len);
        txt_puts(r->b, "} ");
        switch ( kind )
        {
        case PROM_U32:
        case PROM_PCT:
            memcpy(&v32, base + off, sizeof(v32));
            if ( kind == PROM_PCT )
                prom_put_pct(r->b, v32);
            else
                txt_put_u64(r->b, v32);
            break;
        case PROM_U64:
            memcpy(&v64, base + off, sizeof(v64));
            txt_put_u64(r->b, v64);
            break;
        case PROM_NONZERO:
            memcpy(&vint, base + off, sizeof(vint));
            txt_putc(r->b, vint ? '1' : '0');
            break;
        default:
            break;
        }
        txt_putc(r->b, '\n');
    }
}

/* The memory_bytes series of one domain or tenant, a kind each. */
static void prom_memory(struct txt_buf *b, const char *prefix, const char *l,
                        size_t len, const uint64_t v[3])
{
    unsigned int i;

    for ( i = 0; i < 3; i++ )
    {
        prom_series(b, prefix, "memory_bytes", l, len);
        txt_puts(b, ",kind=\"");
        txt_puts(b, prom_mem_kinds[i]);
        txt_puts(b, "\"} ");
        txt_put_u64(b, v[i]);
        txt_putc(b, '\n');
    }
}

/* A family of one series per domain from a uint32 field. */
static void prom_dom_u32(struct prom_r *r, const char *name,
                         const char *type, const char *help, size_t off)
{
    prom_field(r, PROM_DOM, name, type, help, off, PROM_U32);
}

static void prom_domains(struct prom_r *r)
{
    struct txt_buf *b = r->b;
    size_t len;
    const char *l;
    uint32_t k, i;

    prom_family(b, "xenos_domain_", "info", "gauge",
                "Always 1 for each domain present in the last sample.");
    for ( k = 0; k < r->nr; k++ )
    {
        l = prom_dlab(r, k, &len);
        prom_series(b, "xenos_domain_", "info", l, len);
        txt_puts(b, "} 1\n");
    }
    /*
     * The run state as one series per state, 1 for the current one and 0
     * for the others (Prometheus' advice for an enum, OpenMetrics'
     * StateSet): the set of series stays the same through the domain's
     * life, so a state change moves a value rather than ending a series,
     * and a query needs no code table (state="running" == 1).
     */
    prom_family(b, "xenos_domain_", "state", "gauge",
                "1 for the domain's run state in the last sample, 0 for "
                "the others (running, blocked, paused, shutdown, crashed, "
                "dying).");
    for ( k = 0; k < r->nr; k++ )
    {
        l = prom_dlab(r, k, &len);
        for ( i = 0; i < ACCT_NR_DOM_STATES; i++ )
        {
            prom_series(b, "xenos_domain_", "state", l, len);
            txt_puts(b, ",state=\"");
            txt_puts(b, acct_dom_state_names[i]);
            txt_puts(b, (unsigned int)r->doms[k]->state == i ? "\"} 1\n"
                                                             : "\"} 0\n");
        }
    }
    prom_dom_u32(r, "domid", "gauge",
                 "The domain's id on this host (changes at a reboot or a "
                 "migration; the uuid does not).",
                 offsetof(struct acct_dom, domid));
    prom_usage_families(r, false);
    prom_family(b, "xenos_domain_", "vcpu_cpu_seconds_total", "counter",
                "CPU time used by one vCPU, accounted since first seen.");
    for ( k = 0; k < r->nr; k++ )
    {
        const struct acct_dom *d = r->doms[k];

        l = prom_dlab(r, k, &len);
        for ( i = 0; d->vcpu_total_ns && i < d->nr_vcpus; i++ )
        {
            prom_series(b, "xenos_domain_", "vcpu_cpu_seconds_total", l,
                        len);
            txt_puts(b, ",vcpu=\"");
            txt_put_u64(b, i);
            txt_puts(b, "\"} ");
            prom_put_sec(b, d->vcpu_total_ns[i]);
            txt_putc(b, '\n');
        }
    }
    prom_dom_u32(r, "vcpus", "gauge", "vCPUs the domain has.",
                 offsetof(struct acct_dom, nr_vcpus));
    prom_dom_u32(r, "online_vcpus", "gauge", "vCPUs online.",
                 offsetof(struct acct_dom, online_vcpus));
    prom_family(b, "xenos_domain_", "memory_bytes", "gauge",
                "Memory: current allocation, maximum and balloon target.");
    for ( k = 0; k < r->nr; k++ )
    {
        const struct acct_dom *d = r->doms[k];
        const uint64_t v[3] = { d->mem_cur_bytes, d->mem_max_bytes,
                                d->mem_target_bytes };

        l = prom_dlab(r, k, &len);
        prom_memory(b, "xenos_domain_", l, len, v);
    }
    prom_dom_u32(r, "weight", "gauge",
                 "Scheduler weight in force (0: not set by xenosd).",
                 offsetof(struct acct_dom, weight));
    prom_field(r, PROM_DOM, "cap_ratio", "gauge",
               "CPU cap in force in pCPUs (1 = one whole pCPU; 0 = none).",
               offsetof(struct acct_dom, cap_pct), PROM_PCT);
    prom_field(r, PROM_DOM, "peak_window_ratio", "gauge",
               "Most CPU used in any 100 ms window that closed in the last "
               "interval, in pCPUs, as an upper bound: the bound of the "
               "highest bucket of use against the cap (0: none closed).",
               offsetof(struct acct_dom, peak_window_pct),
               PROM_PCT | PROM_SCHED);
    prom_field(r, PROM_DOM, "reboots_total", "counter",
               "Reboots seen (the same uuid under a new domid).",
               offsetof(struct acct_dom, resets), PROM_U64);
    prom_field(r, PROM_DOM, "sample_error", "gauge",
               "1 when the last sample could not read the domain's "
               "counters (they are counted at its next good sample).",
               offsetof(struct acct_dom, error), PROM_NONZERO);
}

static void prom_tenants(struct prom_r *r)
{
    const struct acct_snapshot *c = r->c;
    struct txt_buf *b = r->b;
    size_t len;
    const char *l;
    uint32_t k;

    prom_usage_families(r, true);
    prom_field(r, PROM_TENANT, "domains", "gauge",
               "The tenant's domains present in the last sample.",
               offsetof(struct acct_tenant, nr_domains), PROM_U32);
    prom_field(r, PROM_TSUM, "online_vcpus", "gauge",
               "vCPUs online in the tenant's present domains.",
               offsetof(struct prom_tenant_sum, online_vcpus), PROM_U64);
    prom_family(b, "xenos_tenant_", "memory_bytes", "gauge",
                "Memory of the tenant's present domains, summed.");
    for ( k = 0; k < c->nr_tenants; k++ )
    {
        l = prom_tlab(r, k, &len);
        prom_memory(b, "xenos_tenant_", l, len, r->tsum[k].mem);
    }
    prom_field(r, PROM_TENANT, "weight", "gauge",
               "Tenant weight from the tenant policy.",
               offsetof(struct acct_tenant, weight), PROM_U32);
    prom_field(r, PROM_TENANT, "cap_ratio", "gauge",
               "Tenant CPU cap in pCPUs (1 = one whole pCPU; 0 = none).",
               offsetof(struct acct_tenant, cap_pct), PROM_PCT);
    prom_family(b, "xenos_tenant_", "cap_use_ratio", "gauge",
                "CPU used in the last interval over the tenant's cap "
                "(1 = at the cap); only for tenants with a cap.");
    for ( k = 0; k < c->nr_tenants; k++ )
    {
        const struct acct_tenant *t = &c->tenants[k];

        if ( !t->cap_pct )
            continue;
        l = prom_tlab(r, k, &len);
        prom_series(b, "xenos_tenant_", "cap_use_ratio", l, len);
        txt_puts(b, "} ");
        prom_put_double(b, r->interval_ns
                        ? 100.0 * (double)t->delta.cpu_ns /
                          ((double)r->interval_ns * t->cap_pct)
                        : 0.0);
        txt_putc(b, '\n');
    }
}

/* HELP, TYPE and the name of a family of one series without labels; the
 * caller writes the value.  Ends the previous such series' line. */
static void prom_single(struct txt_buf *b, const char *name,
                        const char *type, const char *help)
{
    if ( b->len && b->p[b->len - 1] != '\n' )
        txt_putc(b, '\n');
    prom_family(b, "xenos_", name, type, help);
    txt_puts(b, "xenos_");
    txt_puts(b, name);
    txt_putc(b, ' ');
}

static void prom_health(struct prom_r *r)
{
    const struct acct_snapshot *c = r->c;
    const struct exp_info *info = r->info;
    struct txt_buf *b = r->b;
    uint32_t i;

    prom_family(b, "xenos_", "info", "gauge",
                "Always 1; the host and the backend xenosd samples.");
    txt_puts(b, "xenos_info{host=\"");
    prom_escape(b, info->host);
    txt_puts(b, "\",backend=\"");
    prom_escape(b, info->backend);
    txt_puts(b, "\"} 1\n");
    prom_single(b, "sample_interval_seconds", "gauge",
                "Sampling interval.");
    prom_put_sec(b, info->interval_ms * 1000000u);
    prom_single(b, "last_sample_timestamp_seconds", "gauge",
                "Wall clock of the last good sample, unix seconds "
                "(0: none yet).");
    prom_put_sec(b, info->sample_unix_ns);
    prom_single(b, "sample_duration_seconds", "gauge",
                "How long the last good sample and its accounting took.");
    prom_put_sec(b, info->sample_duration_ns);
    prom_single(b, "intervals_total", "counter",
                "Sampling intervals closed.");
    txt_put_u64(b, info->intervals);
    prom_single(b, "domains", "gauge",
                "Domains present in the last sample.");
    txt_put_u64(b, r->nr);
    txt_putc(b, '\n');
    prom_family(b, "xenos_", "exporter_failed_intervals", "gauge",
                "Intervals in a row an exporter has failed to take, up to "
                "the one before this (0: it works); for the usage ledger, "
                "how many intervals it is behind.");
    for ( i = 0; info->exporters && i < info->nr_exporters; i++ )
    {
        txt_puts(b, "xenos_exporter_failed_intervals{exporter=\"");
        prom_escape(b, info->exporters[i].name);
        txt_puts(b, "\"} ");
        txt_put_u64(b, info->exporters[i].failed_intervals);
        txt_putc(b, '\n');
    }
    prom_family(b, "xenos_", "errors_total", "counter",
                "Errors by kind: sample (a whole sample failed), domain "
                "(one domain unreadable), set_sched, checkpoint, "
                "counter_backwards.");
    for ( i = 0; i < ACCT_NR_ERR_KINDS; i++ )
    {
        txt_puts(b, "xenos_errors_total{kind=\"");
        prom_escape(b, acct_err_names[i]);
        txt_puts(b, "\"} ");
        txt_put_u64(b, c->errors[i]);
        txt_putc(b, '\n');
    }
}

int exp_prom_render(struct txt_buf *out, const struct acct_snapshot *c,
                    const struct exp_info *info)
{
    struct prom_r r = { .b = out, .c = c, .info = info };
    int rc;

    if ( !out || !c || !info )
        return -EINVAL;
    txt_buf_init(&r.lab);
    txt_buf_init(&r.tlab);
    rc = prom_prepare(&r);
    if ( !rc )
    {
        prom_domains(&r);
        prom_tenants(&r);
        prom_health(&r);
        rc = out->oom ? -ENOMEM : 0;
    }
    txt_buf_free(&r.lab);
    txt_buf_free(&r.tlab);
    free(r.doms);
    free(r.lab_off);
    free(r.tlab_off);
    free(r.tsum);
    return rc;
}
