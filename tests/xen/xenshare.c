/*
 * xenshare.c: measure how a real Xen shares its pCPUs among domains, from
 * inside dom0 (tests/xen/ runs it in every boot of `make xen-test`).
 *
 *   xenshare [--phase P] [--seconds N] [--interval-ms N] [--pcpu N[-M]]
 *            [--cap T:PCT]... [--span-s N] [--raw] [--replay FILE]
 *            DOMAIN[:TENANT[:WEIGHT]]...
 *   xenshare --snapshot DOMAIN...
 *
 * Design
 * ------
 * The domains named share one pCPU, or with --pcpu N-M the pCPUs N to M
 * (the test pins them there).  Every
 * interval (default 100 ms) the tool reads each domain's cumulative CPU
 * time, with libxenctrl's xc_domain_getinfolist(): one hypercall for all
 * domains, the very counter libxenstat reports, without the xenstore
 * round trips libxenstat makes for every domain's name.  Domains are
 * found by name once, with libxenstat.
 *
 * A window is the span between two readings; its share is the CPU a
 * domain used over the time that passed (dom0's CLOCK_MONOTONIC, which is
 * Xen's system time, in the middle of the call), in percent of the pCPUs
 * the domains share: with one pCPU, points of it (100 = all of it); with
 * --pcpu 1-2, percent of the two (a domain running on both all the time
 * has 100, one vCPU on one of them 50).  Under emulation a reading now and then takes tens
 * of ms (dom0's vCPU waits for the host), and a 100 ms window measured
 * with a clock read tens of ms away from the hypercall's own instant is
 * off by as much: a reading that took longer than XS_READ_SLOW_NS is
 * taken again at once (up to XS_READ_TRIES times; `slow` counts those
 * kept anyway).
 *
 * The pCPU's idle time would be a time base free of that (the domains'
 * CPU time plus the idle time is all the time the pCPU had), but it comes
 * from another hypercall and, more to the point, is only as good as the
 * scheduler's accounting: with --pcpu it is read too (for each pCPU) and
 * only checked, `idle_backwards` counting the readings where a pCPU's idle
 * time went backwards (never, with a sound scheduler).
 *
 * From the windows it derives:
 *
 * - with weights: each domain's share over the whole run against its
 *   entitlement, 100 x weight / sum of weights (absolute error, points),
 *   and the worst relative error over 1 s windows (ten readings apart);
 *   the same for each tenant (the sum of its domains), whose entitlement
 *   is the sum of theirs.  WEIGHT is the domain's entitled part, in any
 *   unit: the Xen weight when domains of one vCPU share one pCPU, the
 *   tenant's part of the pCPUs otherwise (a 2-vCPU domain beside two
 *   1-vCPU domains of a tenant of equal weight: 2, 1, 1).  Nothing caps
 *   an entitlement at what the domain's vCPUs could use;
 * - with caps: each capped tenant's use (sum of its domains) over the
 *   run and, with --span-s, the least and most of it over consecutive
 *   spans of that length; the p50, p99 and max of its 100 ms windows, and
 *   the share of windows above cap + 2 points; and each domain's time not
 *   running over the run, in percent (for a busy 1-vCPU guest, the time
 *   it was runnable but not running).
 *
 * Every figure is one line, `RESULT PHASE FIGURE SUBJECT VALUE` (SUBJECT
 * is `-` for a figure of the whole run), on stdout; the harness on the
 * host compares them with thresholds.  Nothing is judged here.
 *
 * A domain's CPU time can go backwards under an emulated clock (seen
 * with credit1 under QEMU): such a step counts as zero and the higher
 * reading is kept, as xenosd's collector does; the steps are counted in
 * the `backwards` figure.
 *
 * --snapshot prints the cumulative CPU time and current memory of the
 * named domains once, as libxenstat reports them: the accounting check
 * compares them with xenosd's.
 *
 * Locking: none; one thread.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenctrl.h>
#include <xenstat.h>

#define XS_DOMAINS_MAX          16
#define XS_TENANTS_MAX          XS_DOMAINS_MAX
/* Domains one reading asks for: a page's worth.  libxencall keeps
 * one-page hypercall buffers; a bigger one is mapped and unmapped on every
 * call, which under emulation takes a millisecond or two and so blurs the
 * instant the reading stands for. */
#define XS_INFO_MAX             (4096 / sizeof(xc_domaininfo_t))
#define XS_CPUS_MAX             256
#define XS_READ_SLOW_NS         4000000ull      /* +-2% of a 100 ms window */
#define XS_READ_TRIES           10
#define XS_INTERVAL_MS_DEFAULT  100
#define XS_SECONDS_DEFAULT      20
#define XS_SECONDS_MAX          3600
#define XS_WINDOW_LONG_MS       1000    /* the "1 s window" of the figures */
#define XS_CAP_SLACK_PCT        2.0     /* "above cap + 2" */
#define XS_NS_PER_MS            1000000ull
#define XS_NS_PER_S             1000000000ull
#define XS_SETTLE_MS            500     /* before the first reading */
#define XS_PCT_FULL             100.0   /* one pCPU, in points */

struct xs_domain {
    const char *name;
    unsigned int domid;
    unsigned int tenant;        /* index into xs_run.tenants */
    unsigned long weight;       /* 0: none given */
    uint64_t *cpu_ns;           /* one per reading */
};

struct xs_tenant {
    const char *name;
    double cap_pct;             /* 0: none */
};

struct xs_run {
    const char *phase;
    unsigned int seconds, interval_ms;
    unsigned int span_s;        /* 0: no span figures */
    int pcpu;                   /* first pCPU shared; -1: not given */
    unsigned int nr_pcpus;      /* pCPUs shared: pcpu .. pcpu + nr - 1 */
    struct xs_domain doms[XS_DOMAINS_MAX];
    unsigned int nr_doms;
    struct xs_tenant tenants[XS_TENANTS_MAX];
    unsigned int nr_tenants;
    uint64_t *t_ns;             /* time of each reading */
    uint64_t *call_ns;          /* how long each reading took */
    unsigned int nr_samples;    /* readings taken */
    unsigned int backwards;     /* a domain's CPU time went back */
    unsigned int retries;       /* readings taken again (slow) */
    unsigned int slow;          /* slow readings kept */
    uint64_t *idle_ns;          /* each pCPU's idle time, per reading */
    uint64_t *dom0_ns;          /* dom0's CPU time, per reading... */
    uint64_t *rest_ns;          /* ...and the other domains not named */
    uint64_t *host_idle_ns;     /* idle time of every pCPU, summed */
    unsigned int host_pcpus;    /* how many pCPUs the host has */
    unsigned int idle_backwards;
    bool raw;                   /* print every reading too */
};

static uint64_t xs_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * XS_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void xs_result(const struct xs_run *r, const char *figure,
                      const char *subject, double value)
{
    printf("RESULT %s %s %s %.3f\n", r->phase, figure, subject, value);
}

/* ------------------------------------------------------------------ */
/* Arguments                                                          */

static int xs_tenant_find(struct xs_run *r, const char *name, size_t len)
{
    unsigned int i;

    for ( i = 0; i < r->nr_tenants; i++ )
        if ( strlen(r->tenants[i].name) == len &&
             !strncmp(r->tenants[i].name, name, len) )
            return (int)i;
    if ( r->nr_tenants == XS_TENANTS_MAX )
        return -ENOSPC;
    r->tenants[r->nr_tenants].name = strndup(name, len);
    if ( !r->tenants[r->nr_tenants].name )
        return -ENOMEM;
    return (int)r->nr_tenants++;
}

/* "TENANT:PCT", PCT a positive number. */
static int xs_parse_cap(struct xs_run *r, const char *arg)
{
    const char *colon = strchr(arg, ':');
    char *end;
    double pct;
    int t;

    if ( !colon || colon == arg )
        return -EINVAL;
    errno = 0;
    pct = strtod(colon + 1, &end);
    if ( errno || *end || !(pct > 0) )
        return -EINVAL;
    t = xs_tenant_find(r, arg, (size_t)(colon - arg));
    if ( t < 0 )
        return t;
    r->tenants[t].cap_pct = pct;
    return 0;
}

/* "DOMAIN[:TENANT[:WEIGHT]]", in place; the tenant defaults to "-". */
static int xs_parse_domain(struct xs_run *r, char *arg)
{
    struct xs_domain *d;
    char *ten, *w = NULL, *end;
    int t;

    if ( r->nr_doms == XS_DOMAINS_MAX )
        return -ENOSPC;
    d = &r->doms[r->nr_doms];
    ten = strchr(arg, ':');
    if ( ten == arg || (ten && !ten[1]) )
        return -EINVAL;
    if ( ten )
    {
        *ten++ = '\0';
        w = strchr(ten, ':');
    }
    else
        ten = "-";
    if ( w )
    {
        *w++ = '\0';
        errno = 0;
        d->weight = strtoul(w, &end, 10);
        if ( errno || *end || !d->weight || *w == '-' )
            return -EINVAL;
    }
    t = xs_tenant_find(r, ten, strlen(ten));
    if ( t < 0 )
        return t;
    d->name = arg;
    d->tenant = (unsigned int)t;
    r->nr_doms++;
    return 0;
}

static int xs_parse_uint(const char *s, unsigned int min, unsigned int max,
                         unsigned int *out)
{
    unsigned long v;
    char *end;

    errno = 0;
    v = strtoul(s, &end, 10);
    if ( errno || *end || !*s || *s == '-' || v < min || v > max )
        return -EINVAL;
    *out = (unsigned int)v;
    return 0;
}

/* "N" or "N-M" (N <= M < XS_CPUS_MAX): the pCPUs the domains share. */
static int xs_parse_pcpus(struct xs_run *r, const char *s)
{
    char first[16];
    const char *dash = strchr(s, '-');
    unsigned int a, b;
    size_t len = dash ? (size_t)(dash - s) : strlen(s);

    if ( !len || len >= sizeof(first) )
        return -EINVAL;
    memcpy(first, s, len);
    first[len] = '\0';
    if ( xs_parse_uint(first, 0, XS_CPUS_MAX - 1, &a) )
        return -EINVAL;
    b = a;
    if ( dash && xs_parse_uint(dash + 1, a, XS_CPUS_MAX - 1, &b) )
        return -EINVAL;
    r->pcpu = (int)a;
    r->nr_pcpus = b - a + 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sampling                                                           */

/* Each named domain's domid, from a first reading.  -ENOENT (with the
 * name on stderr) if one is missing. */
static int xs_resolve(xenstat_handle *xh, struct xs_domain *doms,
                      unsigned int n)
{
    xenstat_node *node = xenstat_get_node(xh, 0);
    unsigned int i, j, nr;
    int rc = 0;

    if ( !node )
        return -EIO;
    nr = xenstat_node_num_domains(node);
    for ( i = 0; i < n; i++ )
    {
        for ( j = 0; j < nr; j++ )
        {
            xenstat_domain *xd = xenstat_node_domain_by_index(node, j);
            const char *name = xd ? xenstat_domain_name(xd) : NULL;

            if ( name && !strcmp(name, doms[i].name) )
                break;
        }
        if ( j == nr )
        {
            fprintf(stderr, "xenshare: no domain named %s\n", doms[i].name);
            rc = -ENOENT;
            continue;
        }
        doms[i].domid = xenstat_domain_id(
            xenstat_node_domain_by_index(node, j));
    }
    xenstat_free_node(node);
    return rc;
}

/* The idle time in ns of the pCPUs shared, into @idle_ns[0..nr_pcpus),
 * and of every pCPU of the host, summed, into *@all (their number into
 * r->host_pcpus). */
static int xs_idle(xc_interface *xch, struct xs_run *r, uint64_t *idle_ns,
                   uint64_t *all)
{
    xc_cpuinfo_t info[XS_CPUS_MAX];
    unsigned int i;
    int nr = 0;

    if ( xc_getcpuinfo(xch, XS_CPUS_MAX, info, &nr) )
        return -errno;
    if ( r->pcpu + (int)r->nr_pcpus > nr )
        return -ENODEV;
    for ( i = 0; i < r->nr_pcpus; i++ )
        idle_ns[i] = info[r->pcpu + (int)i].idletime;
    *all = 0;
    for ( i = 0; i < (unsigned int)nr; i++ )
        *all += info[i].idletime;
    r->host_pcpus = (unsigned int)nr;
    return 0;
}

/* One reading of every domain's CPU time into @cpu_ns, in the order of
 * r->doms, and dom0's and the rest's (domains not named) into @others[2]. */
static int xs_read(xc_interface *xch, const struct xs_run *r,
                   uint64_t *cpu_ns, uint64_t *others)
{
    xc_domaininfo_t info[XS_INFO_MAX];
    unsigned int i;
    int n, j;

    n = xc_domain_getinfolist(xch, 0, XS_INFO_MAX, info);
    if ( n < 0 )
        return -errno;
    others[0] = others[1] = 0;
    for ( j = 0; j < n; j++ )
    {
        for ( i = 0; i < r->nr_doms; i++ )
            if ( info[j].domain == r->doms[i].domid )
                break;
        if ( info[j].domain == 0 )
            others[0] = info[j].cpu_time;
        else if ( i == r->nr_doms )
            others[1] += info[j].cpu_time;
    }
    for ( i = 0; i < r->nr_doms; i++ )
    {
        const struct xs_domain *d = &r->doms[i];

        for ( j = 0; j < n; j++ )
            if ( info[j].domain == d->domid )
                break;
        if ( j == n )
        {
            fprintf(stderr, "xenshare: domain %s (%u) went away\n", d->name,
                    d->domid);
            return -ENOENT;
        }
        cpu_ns[i] = info[j].cpu_time;
    }
    return 0;
}

/* A reading into slot @k, taken again while it is slow. */
static int xs_sample(xc_interface *xch, struct xs_run *r, unsigned int k)
{
    uint64_t cpu_ns[XS_DOMAINS_MAX], others[2] = { 0 }, before = 0, after = 0;
    uint64_t idle[XS_CPUS_MAX];
    unsigned int i, try;
    int rc;

    for ( try = 0; try < XS_READ_TRIES; try++ )
    {
        if ( try )
            r->retries++;
        before = xs_now_ns();
        rc = xs_read(xch, r, cpu_ns, others);
        after = xs_now_ns();
        if ( rc )
            return rc;
        if ( after - before <= XS_READ_SLOW_NS )
            break;
    }
    if ( try == XS_READ_TRIES )
        r->slow++;
    r->call_ns[k] = after - before;
    r->dom0_ns[k] = others[0];
    r->rest_ns[k] = others[1];
    r->t_ns[k] = before + (after - before) / 2;
    for ( i = 0; i < r->nr_doms; i++ )
    {
        uint64_t ns = cpu_ns[i];

        if ( k && ns < r->doms[i].cpu_ns[k - 1] )
        {
            r->backwards++;
            ns = r->doms[i].cpu_ns[k - 1];
        }
        r->doms[i].cpu_ns[k] = ns;
    }
    if ( r->pcpu >= 0 )
    {
        rc = xs_idle(xch, r, idle, &r->host_idle_ns[k]);
        if ( rc )
            return rc;
        for ( i = 0; i < r->nr_pcpus; i++ )
        {
            uint64_t *at = &r->idle_ns[k * r->nr_pcpus + i];

            *at = idle[i];
            if ( k && idle[i] < at[-(int)r->nr_pcpus] )
            {
                r->idle_backwards++;
                *at = at[-(int)r->nr_pcpus];
            }
        }
    }
    return 0;
}

/* Room for @n readings. */
static int xs_alloc(struct xs_run *r, unsigned int n)
{
    unsigned int i;

    r->t_ns = calloc(n, sizeof(*r->t_ns));
    r->call_ns = calloc(n, sizeof(*r->call_ns));
    r->idle_ns = calloc((size_t)n * r->nr_pcpus, sizeof(*r->idle_ns));
    r->dom0_ns = calloc(n, sizeof(*r->dom0_ns));
    r->rest_ns = calloc(n, sizeof(*r->rest_ns));
    r->host_idle_ns = calloc(n, sizeof(*r->host_idle_ns));
    if ( !r->t_ns || !r->call_ns || !r->idle_ns || !r->dom0_ns ||
         !r->rest_ns || !r->host_idle_ns )
        return -ENOMEM;
    for ( i = 0; i < r->nr_doms; i++ )
    {
        r->doms[i].cpu_ns = calloc(n, sizeof(uint64_t));
        if ( !r->doms[i].cpu_ns )
            return -ENOMEM;
    }
    return 0;
}

static int xs_measure(xc_interface *xch, struct xs_run *r)
{
    unsigned int n = r->seconds * 1000u / r->interval_ms + 1, k;
    uint64_t start;
    int rc;

    rc = xs_alloc(r, n);
    if ( rc )
        return rc;
    /* Our own start (libxenstat, finding the domains) is a burst of dom0
     * work, and under emulation dom0's pCPU shares host cores with the
     * guests' (docs/xen.md): let it pass before the first reading. */
    start = xs_now_ns() + XS_SETTLE_MS * XS_NS_PER_MS;
    for ( k = 0; k < n; k++ )
    {
        uint64_t due = start + (uint64_t)k * r->interval_ms * XS_NS_PER_MS;
        struct timespec ts = {
            .tv_sec = (time_t)(due / XS_NS_PER_S),
            .tv_nsec = (long)(due % XS_NS_PER_S),
        };

        while ( clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
                                NULL) == EINTR )
            continue;
        rc = xs_sample(xch, r, k);
        if ( rc )
            return rc;
        r->nr_samples = k + 1;
    }
    return 0;
}

/*
 * --replay FILE: the readings of phase r->phase from the RAW lines of an
 * earlier run (xs_report_raw's format, any other line skipped), for the
 * domains and pCPUs named as they were then, to compute the figures
 * afresh (and to test them on readings made by hand).  The host's pCPUs
 * are taken to be 0 .. the last one shared.
 */
static int xs_replay(struct xs_run *r, const char *path)
{
    unsigned int want = 3 + r->nr_doms + (r->pcpu >= 0 ? r->nr_pcpus : 0) + 3;
    unsigned int cap = 0, k, i, n, line = 0;
    char buf[4096], phase[64];
    FILE *f = fopen(path, "r");
    int rc = 0;

    if ( !f )
        return -errno;
    while ( fgets(buf, sizeof(buf), f) )
        if ( sscanf(buf, "RAW %63s", phase) == 1 && !strcmp(phase, r->phase) )
            cap++;
    if ( cap < 2 || (rc = xs_alloc(r, cap)) )
    {
        fclose(f);
        return rc ? rc : -ENODATA;
    }
    rewind(f);
    for ( k = 0; !rc && fgets(buf, sizeof(buf), f); )
    {
        uint64_t v[4 + XS_DOMAINS_MAX + XS_CPUS_MAX + 3];
        char *p = buf, *end;

        line++;
        if ( sscanf(buf, "RAW %63s", phase) != 1 || strcmp(phase, r->phase) )
            continue;
        p = strstr(buf, r->phase) + strlen(r->phase);
        for ( n = 0; n < want; n++, p = end )
        {
            errno = 0;
            v[n] = strtoull(p, &end, 10);
            if ( end == p || errno )
                break;
        }
        if ( n != want || v[0] != k )
        {
            fprintf(stderr, "xenshare: %s:%u: want reading %u with %u "
                    "numbers\n", path, line, k, want);
            rc = -EINVAL;
            break;
        }
        r->t_ns[k] = v[1];
        r->call_ns[k] = v[2];
        for ( i = 0; i < r->nr_doms; i++ )
            r->doms[i].cpu_ns[k] = v[3 + i];
        n = 3 + r->nr_doms;
        for ( i = 0; r->pcpu >= 0 && i < r->nr_pcpus; i++ )
            r->idle_ns[k * r->nr_pcpus + i] = v[n++];
        r->dom0_ns[k] = v[n++];
        r->rest_ns[k] = v[n++];
        r->host_idle_ns[k] = v[n];
        r->nr_samples = ++k;
    }
    fclose(f);
    if ( r->pcpu >= 0 )
        r->host_pcpus = (unsigned int)r->pcpu + r->nr_pcpus;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Figures                                                            */

/* Percent of the shared pCPUs domain @i used between readings @a and @b
 * (0 for a window in which no time passed). */
static double xs_share(const struct xs_run *r, unsigned int i,
                       unsigned int a, unsigned int b)
{
    const struct xs_domain *d = &r->doms[i];

    if ( r->t_ns[b] == r->t_ns[a] )
        return 0;
    return XS_PCT_FULL * (double)(d->cpu_ns[b] - d->cpu_ns[a]) /
           ((double)(r->t_ns[b] - r->t_ns[a]) * r->nr_pcpus);
}

/*
 * The time the shared pCPUs had between readings @a and @b by Xen's own
 * clocks of them, in ns: what ran there (the domains named and the
 * others; dom0 is pinned elsewhere) and their idle time.  Xen accounts
 * every nanosecond of a pCPU to the vCPU or idle vCPU on it, so this is
 * the pCPUs' elapsed time as they saw it.  Under emulation the guests'
 * pCPUs' clocks run slower than dom0's for a second at a time (docs/xen.md
 * "Three equal guests on two pCPUs"); 0 without --pcpu.
 */
static double xs_pcpu_ns(const struct xs_run *r, unsigned int a,
                         unsigned int b)
{
    double ns = 0;
    unsigned int i;

    if ( r->pcpu < 0 )
        return 0;
    for ( i = 0; i < r->nr_doms; i++ )
        ns += (double)(r->doms[i].cpu_ns[b] - r->doms[i].cpu_ns[a]);
    ns += (double)(r->rest_ns[b] - r->rest_ns[a]);
    for ( i = 0; i < r->nr_pcpus; i++ )
        ns += (double)(r->idle_ns[b * r->nr_pcpus + i] -
                       r->idle_ns[a * r->nr_pcpus + i]);
    return ns;
}

/* Percent of the shared pCPUs domain @i used between readings @a and @b,
 * by the pCPUs' own clocks (xs_pcpu_ns): the time the scheduler had to
 * divide there, whatever dom0's clock said meanwhile. */
static double xs_share_xen(const struct xs_run *r, unsigned int i,
                           unsigned int a, unsigned int b)
{
    const struct xs_domain *d = &r->doms[i];
    double ns = xs_pcpu_ns(r, a, b);

    return ns > 0 ? XS_PCT_FULL * (double)(d->cpu_ns[b] - d->cpu_ns[a]) / ns
                  : 0;
}

/* The shared pCPUs' time by their own clocks, in percent of the same span
 * by dom0's: 100 when the clocks agree. */
static double xs_pcpu_clock(const struct xs_run *r, unsigned int a,
                            unsigned int b)
{
    if ( r->pcpu < 0 || r->t_ns[b] == r->t_ns[a] )
        return 0;
    return XS_PCT_FULL * xs_pcpu_ns(r, a, b) /
           ((double)(r->t_ns[b] - r->t_ns[a]) * r->nr_pcpus);
}

/* Tenant @t's share: its domains' by @share. */
static double xs_tenant_sum(const struct xs_run *r, unsigned int t,
                            unsigned int a, unsigned int b,
                            double (*share)(const struct xs_run *,
                                            unsigned int, unsigned int,
                                            unsigned int))
{
    double sum = 0;
    unsigned int i;

    for ( i = 0; i < r->nr_doms; i++ )
        if ( r->doms[i].tenant == t )
            sum += share(r, i, a, b);
    return sum;
}

static double xs_tenant_share(const struct xs_run *r, unsigned int t,
                              unsigned int a, unsigned int b)
{
    return xs_tenant_sum(r, t, a, b, xs_share);
}

static double xs_tenant_share_xen(const struct xs_run *r, unsigned int t,
                                  unsigned int a, unsigned int b)
{
    return xs_tenant_sum(r, t, a, b, xs_share_xen);
}

/* Domain @i's part of what all the domains used between readings @a and
 * @b, in percent: its share when the guests together got less than the
 * pCPUs (they were not all runnable, or something else ran there), as
 * the scheduler divided what they did get. */
static double xs_share_of_total(const struct xs_run *r, unsigned int i,
                                unsigned int a, unsigned int b)
{
    double sum = 0;
    unsigned int j;

    for ( j = 0; j < r->nr_doms; j++ )
        sum += xs_share(r, j, a, b);
    return sum > 0 ? XS_PCT_FULL * xs_share(r, i, a, b) / sum : 0;
}

/* Percent of the shared pCPUs spent in Xen's idle loop between readings
 * @a and @b (0 without --pcpu): with the domains' shares, what is left of
 * 100 ran nowhere a reading sees (another domain, or Xen itself). */
static double xs_idle_share(const struct xs_run *r, unsigned int a,
                            unsigned int b)
{
    uint64_t idle = 0;
    unsigned int i;

    if ( r->pcpu < 0 || r->t_ns[b] == r->t_ns[a] )
        return 0;
    for ( i = 0; i < r->nr_pcpus; i++ )
        idle += r->idle_ns[b * r->nr_pcpus + i] -
                r->idle_ns[a * r->nr_pcpus + i];
    return XS_PCT_FULL * (double)idle /
           ((double)(r->t_ns[b] - r->t_ns[a]) * r->nr_pcpus);
}

/* Of all the host's pCPU time between readings @a and @b (dom0's clock),
 * the percent Xen gave to some vCPU or to an idle vCPU: 100 when every
 * nanosecond is accounted somewhere.  Needs --pcpu (idle times read). */
static double xs_accounted(const struct xs_run *r, unsigned int a,
                           unsigned int b)
{
    double ns = 0;
    unsigned int i;

    if ( r->pcpu < 0 || !r->host_pcpus || r->t_ns[b] == r->t_ns[a] )
        return 0;
    for ( i = 0; i < r->nr_doms; i++ )
        ns += (double)(r->doms[i].cpu_ns[b] - r->doms[i].cpu_ns[a]);
    ns += (double)(r->dom0_ns[b] - r->dom0_ns[a]);
    ns += (double)(r->rest_ns[b] - r->rest_ns[a]);
    ns += (double)(r->host_idle_ns[b] - r->host_idle_ns[a]);
    return XS_PCT_FULL * ns /
           ((double)(r->t_ns[b] - r->t_ns[a]) * r->host_pcpus);
}

/* The first reading of the 1 s window in which the domains used least
 * together, and that least in percent of the shared pCPUs. */
static unsigned int xs_least_total(const struct xs_run *r, double *least)
{
    unsigned int last = r->nr_samples - 1, step, k, j, at = 0;

    *least = -1;
    step = XS_WINDOW_LONG_MS / r->interval_ms;
    if ( step < 1 )
        step = 1;
    for ( k = 0; k + step <= last; k += step )
    {
        double sum = 0;

        for ( j = 0; j < r->nr_doms; j++ )
            sum += xs_share(r, j, k, k + step);
        if ( *least < 0 || sum < *least )
        {
            *least = sum;
            at = k;
        }
    }
    if ( *least < 0 )
        *least = 0;
    return at;
}

static int xs_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile @p (0..100) of @v[@n], sorted in place. */
static double xs_percentile(double *v, unsigned int n, double p)
{
    unsigned int rank;

    qsort(v, n, sizeof(*v), xs_cmp_double);
    rank = (unsigned int)(p / 100.0 * n + 0.999999);
    if ( rank < 1 )
        rank = 1;
    return v[(rank > n ? n : rank) - 1];
}

/* How regular the readings were: p99 and max of the window lengths and
 * of the time a reading took. */
static int xs_report_timing(const struct xs_run *r)
{
    unsigned int w = r->nr_samples - 1, k;
    double *len = malloc(r->nr_samples * sizeof(*len));

    if ( !len )
        return -ENOMEM;
    for ( k = 0; k < w; k++ )
        len[k] = (double)(r->t_ns[k + 1] - r->t_ns[k]) / XS_NS_PER_MS;
    xs_result(r, "samples", "-", r->nr_samples);
    xs_result(r, "window_p99_ms", "-", xs_percentile(len, w, 99));
    xs_result(r, "window_max_ms", "-", len[w - 1]);
    for ( k = 0; k < r->nr_samples; k++ )
        len[k] = (double)r->call_ns[k] / XS_NS_PER_MS;
    xs_result(r, "call_p50_ms", "-", xs_percentile(len, r->nr_samples, 50));
    xs_result(r, "call_p99_ms", "-", xs_percentile(len, r->nr_samples, 99));
    xs_result(r, "call_max_ms", "-", len[r->nr_samples - 1]);
    xs_result(r, "backwards", "-", r->backwards);
    xs_result(r, "retries", "-", r->retries);
    xs_result(r, "slow", "-", r->slow);
    if ( r->pcpu >= 0 )
        xs_result(r, "idle_backwards", "-", r->idle_backwards);
    free(len);
    return 0;
}

/* --raw: every reading,
 * `RAW PHASE K TIME_NS CALL_NS CPU_NS... [IDLE_NS...] DOM0_NS REST_NS
 * HOST_IDLE_NS`
 * (CPU_NS in the order the domains were named; with --pcpu, each shared
 * pCPU's idle time after them; then dom0's CPU time and that of all the
 * domains not named, and the idle time of all the host's pCPUs), to
 * look at windows afresh. */
static void xs_report_raw(const struct xs_run *r)
{
    unsigned int i, k;

    for ( k = 0; k < r->nr_samples; k++ )
    {
        printf("RAW %s %u %" PRIu64 " %" PRIu64, r->phase, k, r->t_ns[k],
               r->call_ns[k]);
        for ( i = 0; i < r->nr_doms; i++ )
            printf(" %" PRIu64, r->doms[i].cpu_ns[k]);
        for ( i = 0; r->pcpu >= 0 && i < r->nr_pcpus; i++ )
            printf(" %" PRIu64, r->idle_ns[k * r->nr_pcpus + i]);
        printf(" %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", r->dom0_ns[k],
               r->rest_ns[k], r->host_idle_ns[k]);
    }
}

/* The largest relative error (%) of @share(a, b) against @ent over the
 * 1 s windows of the run. */
static double xs_worst_window(const struct xs_run *r, unsigned int i,
                              double ent,
                              double (*share)(const struct xs_run *,
                                              unsigned int, unsigned int,
                                              unsigned int))
{
    unsigned int last = r->nr_samples - 1, step, k;
    double worst = 0;

    step = XS_WINDOW_LONG_MS / r->interval_ms;
    if ( step < 1 )
        step = 1;
    for ( k = 0; k + step <= last; k += step )
    {
        double rel = (share(r, i, k, k + step) - ent) / ent * 100.0;

        if ( rel < 0 )
            rel = -rel;
        if ( rel > worst )
            worst = rel;
    }
    return worst;
}

static double xs_abs(double v)
{
    return v < 0 ? -v : v;
}

/* The least and the most of @fn(a, b) over the 1 s windows of the run. */
static void xs_window_range(const struct xs_run *r,
                            double (*fn)(const struct xs_run *, unsigned int,
                                         unsigned int),
                            double *lo, double *hi)
{
    unsigned int last = r->nr_samples - 1, step, k;

    step = XS_WINDOW_LONG_MS / r->interval_ms;
    if ( step < 1 )
        step = 1;
    *lo = *hi = fn(r, 0, step < last ? step : last);
    for ( k = 0; k + step <= last; k += step )
    {
        double v = fn(r, k, k + step);

        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
}

/* Weights: shares over the run and the worst 1 s window, against the
 * entitlement 100 x weight / sum of weights, per domain and per tenant;
 * by dom0's clock, and with --pcpu by the shared pCPUs' own (x...). */
static void xs_report_weights(const struct xs_run *r)
{
    unsigned int last = r->nr_samples - 1, i;
    double wsum = 0, err_max = 0, rel_max = 0, total = 0;
    double ferr_max = 0, frel_max = 0;
    double terr_max = 0, trel_max = 0, rel, least;
    double xerr_max = 0, xrel_max = 0, xterr_max = 0, xtrel_max = 0;
    bool xen = r->pcpu >= 0;
    unsigned int k;
    double tshare[XS_TENANTS_MAX] = { 0 }, tent[XS_TENANTS_MAX] = { 0 };

    for ( i = 0; i < r->nr_doms; i++ )
        wsum += (double)r->doms[i].weight;
    for ( i = 0; i < r->nr_doms; i++ )
    {
        const struct xs_domain *d = &r->doms[i];
        double ent = XS_PCT_FULL * (double)d->weight / wsum;
        double share = xs_share(r, i, 0, last), err = share - ent;

        xs_result(r, "share_pct", d->name, share);
        xs_result(r, "entitled_pct", d->name, ent);
        xs_result(r, "share_err_pts", d->name, err < 0 ? -err : err);
        if ( (err < 0 ? -err : err) > err_max )
            err_max = err < 0 ? -err : err;
        rel = xs_worst_window(r, i, ent, xs_share);
        xs_result(r, "win1s_relerr_pct", d->name, rel);
        if ( rel > rel_max )
            rel_max = rel;
        /* the same as parts of what the domains got together */
        err = xs_share_of_total(r, i, 0, last) - ent;
        if ( (err < 0 ? -err : err) > ferr_max )
            ferr_max = err < 0 ? -err : err;
        rel = xs_worst_window(r, i, ent, xs_share_of_total);
        if ( rel > frel_max )
            frel_max = rel;
        if ( xen )
        {
            double xshare = xs_share_xen(r, i, 0, last);

            xs_result(r, "xshare_pct", d->name, xshare);
            if ( xs_abs(xshare - ent) > xerr_max )
                xerr_max = xs_abs(xshare - ent);
            rel = xs_worst_window(r, i, ent, xs_share_xen);
            xs_result(r, "xwin1s_relerr_pct", d->name, rel);
            if ( rel > xrel_max )
                xrel_max = rel;
        }
        tshare[d->tenant] += share;
        tent[d->tenant] += ent;
        total += share;
    }
    for ( i = 0; i < r->nr_tenants; i++ )
    {
        double err = tshare[i] - tent[i];

        if ( err < 0 )
            err = -err;
        xs_result(r, "tenant_share_pct", r->tenants[i].name, tshare[i]);
        xs_result(r, "tenant_entitled_pct", r->tenants[i].name, tent[i]);
        xs_result(r, "tenant_err_pts", r->tenants[i].name, err);
        if ( err > terr_max )
            terr_max = err;
        rel = xs_worst_window(r, i, tent[i], xs_tenant_share);
        xs_result(r, "tenant_win1s_relerr_pct", r->tenants[i].name, rel);
        if ( rel > trel_max )
            trel_max = rel;
        if ( !xen )
            continue;
        err = xs_abs(xs_tenant_share_xen(r, i, 0, last) - tent[i]);
        xs_result(r, "xtenant_share_pct", r->tenants[i].name,
                  xs_tenant_share_xen(r, i, 0, last));
        xs_result(r, "xtenant_err_pts", r->tenants[i].name, err);
        if ( err > xterr_max )
            xterr_max = err;
        rel = xs_worst_window(r, i, tent[i], xs_tenant_share_xen);
        if ( rel > xtrel_max )
            xtrel_max = rel;
    }
    xs_result(r, "total_pct", "-", total);
    k = xs_least_total(r, &least);
    xs_result(r, "total_win1s_min_pct", "-", least);
    if ( xen )
    {
        unsigned int step = XS_WINDOW_LONG_MS / r->interval_ms;
        double lo, hi;

        xs_result(r, "xshare_err_pts_max", "-", xerr_max);
        xs_result(r, "xwin1s_relerr_pct_max", "-", xrel_max);
        xs_result(r, "xtenant_err_pts_max", "-", xterr_max);
        xs_result(r, "xtenant_win1s_relerr_pct_max", "-", xtrel_max);
        xs_window_range(r, xs_pcpu_clock, &lo, &hi);
        xs_result(r, "pcpu_clock_pct", "-", xs_pcpu_clock(r, 0, last));
        xs_result(r, "pcpu_clock_win1s_min_pct", "-", lo);
        xs_result(r, "pcpu_clock_win1s_max_pct", "-", hi);

        xs_result(r, "idle_pct", "-", xs_idle_share(r, 0, last));
        xs_result(r, "accounted_pct", "-", xs_accounted(r, 0, last));
        xs_result(r, "total_win1s_min_at_s", "-",
                  (double)(r->t_ns[k] - r->t_ns[0]) / XS_NS_PER_S);
        step = step < 1 ? 1 : step;
        xs_result(r, "total_win1s_min_idle_pct", "-",
                  xs_idle_share(r, k, k + step));
        /* Where else the time went: dom0 (pinned elsewhere), or a domain
         * not named, in percent of one pCPU */
        xs_result(r, "total_win1s_min_dom0_pct", "-",
                  XS_PCT_FULL * (double)(r->dom0_ns[k + step] - r->dom0_ns[k]) /
                  (double)(r->t_ns[k + step] - r->t_ns[k]));
        xs_result(r, "total_win1s_min_rest_pct", "-",
                  XS_PCT_FULL * (double)(r->rest_ns[k + step] - r->rest_ns[k]) /
                  (double)(r->t_ns[k + step] - r->t_ns[k]));
        xs_result(r, "total_win1s_min_accounted_pct", "-",
                  xs_accounted(r, k, k + step));
    }
    xs_result(r, "part_err_pts_max", "-", ferr_max);
    xs_result(r, "part_win1s_relerr_pct_max", "-", frel_max);
    xs_result(r, "share_err_pts_max", "-", err_max);
    xs_result(r, "win1s_relerr_pct_max", "-", rel_max);
    xs_result(r, "tenant_err_pts_max", "-", terr_max);
    xs_result(r, "tenant_win1s_relerr_pct_max", "-", trel_max);
}

/* Tenant @t's least and most use over consecutive spans of span_s (a
 * short last one is left out). */
static void xs_report_spans(const struct xs_run *r, unsigned int t)
{
    unsigned int step = r->span_s * 1000u / r->interval_ms, k;
    double lo = 0, hi = 0, v;

    for ( k = 0; step && k + step < r->nr_samples; k += step )
    {
        v = xs_tenant_share(r, t, k, k + step);
        if ( !k || v < lo )
            lo = v;
        if ( !k || v > hi )
            hi = v;
    }
    xs_result(r, "span_used_min_pct", r->tenants[t].name, lo);
    xs_result(r, "span_used_max_pct", r->tenants[t].name, hi);
}

/* Caps: each capped tenant's use over the run and its 100 ms windows. */
static int xs_report_caps(const struct xs_run *r)
{
    unsigned int w = r->nr_samples - 1, t, k, over;
    double *v = malloc(w * sizeof(*v));

    if ( !v )
        return -ENOMEM;
    for ( t = 0; t < r->nr_tenants; t++ )
    {
        const struct xs_tenant *ten = &r->tenants[t];

        if ( !ten->cap_pct )
            continue;
        over = 0;
        for ( k = 0; k < w; k++ )
        {
            v[k] = xs_tenant_share(r, t, k, k + 1);
            if ( v[k] > ten->cap_pct + XS_CAP_SLACK_PCT )
                over++;
        }
        xs_result(r, "cap_pct", ten->name, ten->cap_pct);
        xs_result(r, "used_pct", ten->name, xs_tenant_share(r, t, 0, w));
        if ( r->span_s )
            xs_report_spans(r, t);
        xs_result(r, "win_over2_pct", ten->name, 100.0 * over / w);
        xs_result(r, "win_p50_pct", ten->name, xs_percentile(v, w, 50));
        xs_result(r, "win_p99_pct", ten->name, xs_percentile(v, w, 99));
        xs_result(r, "win_max_pct", ten->name, v[w - 1]);
    }
    /* What a busy guest of one vCPU did not run over the run, in percent
     * of the time: the time it was runnable and not running, which the
     * scheduler's own waiting and throttled counters must add up to
     * (xenosd reports them; evaluate.awk compares). */
    for ( k = 0; k < r->nr_doms; k++ )
        xs_result(r, "notrun_pct", r->doms[k].name,
                  XS_PCT_FULL - xs_share(r, k, 0, w) * r->nr_pcpus);
    free(v);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Snapshot                                                           */

static int xs_snapshot(xenstat_handle *xh, struct xs_run *r)
{
    xenstat_node *node;
    unsigned int i;
    int rc = xs_resolve(xh, r->doms, r->nr_doms);

    if ( rc )
        return rc;
    node = xenstat_get_node(xh, 0);
    if ( !node )
        return -EIO;
    for ( i = 0; i < r->nr_doms; i++ )
    {
        xenstat_domain *xd = xenstat_node_domain(node, r->doms[i].domid);

        if ( !xd )
        {
            fprintf(stderr, "xenshare: domain %s went away\n",
                    r->doms[i].name);
            rc = -ENOENT;
            break;
        }
        printf("RESULT %s xenstat_cpu_ns %s %llu\n", r->phase,
               r->doms[i].name, xenstat_domain_cpu_ns(xd));
        printf("RESULT %s xenstat_mem_bytes %s %llu\n", r->phase,
               r->doms[i].name, xenstat_domain_cur_mem(xd));
    }
    xenstat_free_node(node);
    return rc;
}

/* What the run allocated (the tenants' names, the readings). */
static void xs_free(struct xs_run *r)
{
    unsigned int i;

    for ( i = 0; i < r->nr_tenants; i++ )
        free((char *)r->tenants[i].name);     /* strndup'd: ours */
    for ( i = 0; i < r->nr_doms; i++ )
        free(r->doms[i].cpu_ns);
    free(r->t_ns);
    free(r->call_ns);
    free(r->idle_ns);
    free(r->dom0_ns);
    free(r->rest_ns);
    free(r->host_idle_ns);
}

/* Every figure of a run of at least two readings. */
static int xs_report(struct xs_run *r, bool weights)
{
    int rc;

    if ( r->nr_samples < 2 )
        return -EIO;
    if ( r->raw )
        xs_report_raw(r);
    rc = xs_report_timing(r);
    if ( !rc && weights )
        xs_report_weights(r);
    if ( !rc )
        rc = xs_report_caps(r);
    return rc;
}

/* ------------------------------------------------------------------ */

static void xs_usage(FILE *f)
{
    fprintf(f,
        "usage: xenshare [--phase P] [--seconds N] [--interval-ms N]\n"
        "                [--pcpu N[-M]] [--cap TENANT:PCT]... [--span-s N]\n"
        "                [--raw] [--replay FILE]\n"
        "                DOMAIN[:TENANT[:WEIGHT]]...\n"
        "       xenshare [--phase P] --snapshot DOMAIN...\n"
        "Samples the domains' CPU time with libxenstat and prints one\n"
        "'RESULT PHASE FIGURE SUBJECT VALUE' line per figure.  The domains\n"
        "are taken to share one pCPU, or the pCPUs N to M (--pcpu: which,\n"
        "to check their idle time); shares are percent of those pCPUs.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "phase", required_argument, NULL, 'p' },
        { "seconds", required_argument, NULL, 's' },
        { "interval-ms", required_argument, NULL, 'i' },
        { "pcpu", required_argument, NULL, 'P' },
        { "cap", required_argument, NULL, 'c' },
        { "snapshot", no_argument, NULL, 'S' },
        { "raw", no_argument, NULL, 'r' },
        { "replay", required_argument, NULL, 'R' },
        { "span-s", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct xs_run r = {
        .phase = "run",
        .seconds = XS_SECONDS_DEFAULT,
        .interval_ms = XS_INTERVAL_MS_DEFAULT,
        .pcpu = -1,
        .nr_pcpus = 1,
    };
    bool snapshot = false, weights = true;
    const char *replay = NULL;
    xenstat_handle *xh;
    xc_interface *xch;
    unsigned int i;
    int c, rc = 0;

    while ( (c = getopt_long(argc, argv, "", opts, NULL)) != -1 )
    {
        switch ( c )
        {
        case 'p': r.phase = optarg; break;
        case 's':
            rc = xs_parse_uint(optarg, 1, XS_SECONDS_MAX, &r.seconds);
            break;
        case 'i':
            rc = xs_parse_uint(optarg, 10, XS_WINDOW_LONG_MS,
                               &r.interval_ms);
            break;
        case 'P': rc = xs_parse_pcpus(&r, optarg); break;
        case 'c': rc = xs_parse_cap(&r, optarg); break;
        case 'S': snapshot = true; break;
        case 'r': r.raw = true; break;
        case 'R': replay = optarg; break;
        case 'w':
            rc = xs_parse_uint(optarg, 1, XS_SECONDS_MAX, &r.span_s);
            break;
        case 'h': xs_usage(stdout); return 0;
        default: xs_usage(stderr); return 2;
        }
        if ( rc )
        {
            fprintf(stderr, "xenshare: bad value '%s'\n", optarg);
            return 2;
        }
    }
    for ( ; optind < argc; optind++ )
        if ( xs_parse_domain(&r, argv[optind]) )
        {
            fprintf(stderr, "xenshare: bad domain '%s' (DOMAIN[:TENANT"
                    "[:WEIGHT]])\n", argv[optind]);
            return 2;
        }
    if ( !r.nr_doms )
    {
        xs_usage(stderr);
        return 2;
    }
    for ( i = 0; i < r.nr_doms; i++ )
        if ( !r.doms[i].weight )
            weights = false;

    if ( replay )
    {
        rc = xs_replay(&r, replay);
        if ( !rc )
            rc = xs_report(&r, weights);
        if ( rc )
            fprintf(stderr, "xenshare: %s: %s\n", replay, strerror(-rc));
        xs_free(&r);
        return rc ? 1 : 0;
    }
    xh = xenstat_init();
    if ( !xh )
    {
        fprintf(stderr, "xenshare: xenstat_init failed (not in dom0?)\n");
        return 1;
    }
    if ( snapshot )
        rc = xs_snapshot(xh, &r);
    else if ( !(xch = xc_interface_open(NULL, NULL, 0)) )
        rc = errno ? -errno : -EIO;
    else
    {
        rc = xs_resolve(xh, r.doms, r.nr_doms);
        if ( !rc )
            rc = xs_measure(xch, &r);
        if ( !rc )
            rc = xs_report(&r, weights);
        xc_interface_close(xch);
    }
    xenstat_uninit(xh);
    xs_free(&r);
    if ( rc )
    {
        fprintf(stderr, "xenshare: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
