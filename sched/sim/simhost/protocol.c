/*
 * protocol.c: xenos-simhost's side of the protocol (docs/sim-backend.md):
 * a request line in, a whole reply out, into the client's buffer.  Values
 * are percent-encoded (sh_field_str), so no reply line holds anything a
 * line splitter would break on.  Answering first brings simulated time up
 * to now (sh__advance), unless the loop is behind and will.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenos/hex.h>
#include <xenos/num.h>

#include "private.h"

/* ------------------------------------------------------------------ */
/* Replies                                                            */

static int sh_buf_reserve(struct sh_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if ( b->failed )
        return -ENOMEM;
    while ( cap - b->len < more + 1 )
        cap *= 2;
    if ( cap == b->cap )
        return 0;
    p = realloc(b->p, cap);
    if ( !p )
    {
        b->failed = true;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sh_buf_add(struct sh_buf *b, const char *s, size_t n)
{
    if ( sh_buf_reserve(b, n) )
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sh_printf(struct sh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sh_printf(struct sh_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if ( n < 0 || sh_buf_reserve(b, (size_t)n) )
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/*
 * " key=VALUE" with VALUE percent-encoded (docs/sim-backend.md): every
 * byte but printable ASCII, and '%' and '=' themselves, become %XX.  So
 * a reply line holds nothing any line splitter would break on (not even
 * U+2028 or NEL), and a decoder gets back the very bytes.
 */
static void sh_field_str(struct sh_buf *b, const char *key, const char *v)
{
    const unsigned char *p = (const unsigned char *)v;

    sh_printf(b, " %s=", key);
    for ( ; *p; p++ )
    {
        if ( *p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '=' )
        {
            char e[3];

            hex_pct(e, *p, true);
            sh_buf_add(b, e, 3);
        }
        else
            sh_buf_add(b, (const char *)p, 1);
    }
}

static void sh_field_u64(struct sh_buf *b, const char *key, uint64_t v)
{
    sh_printf(b, " %s=%" PRIu64, key, v);
}

/* ------------------------------------------------------------------ */
/* Requests                                                           */

static const char *const sh_life_names[] = {
    [SIM_LIFE_PENDING] = "pending",
    [SIM_LIFE_ALIVE] = "alive",
    [SIM_LIFE_GONE] = "gone",
};

static const char *const sh_end_names[] = {
    [SIM_END_NONE] = "none",
    [SIM_END_REBOOT] = "reboot",
    [SIM_END_MIGRATE] = "migrate",
    [SIM_END_DESTROY] = "destroy",
};

static void sh_err(struct sh_buf *b, const char *code, const char *why)
{
    sh_printf(b, "ERR %s %s\n", code, why);
}

/* Split @line into at most @max words at single spaces; returns how many,
 * or max + 1 if there are more. */
static unsigned int sh_words(char *line, char **w, unsigned int max)
{
    unsigned int n = 0;
    char *save = NULL, *t;

    for ( t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save) )
    {
        if ( n == max )
            return max + 1;
        w[n++] = t;
    }
    return n;
}

static void sh_ping(struct sh *h, struct sh_buf *b)
{
    sch_time_t target = sh__target(h);

    sh_printf(b, "OK PONG");
    sh_field_u64(b, "time_ns", (uint64_t)sim_now(h->sim));
    /* how far simulated time is behind the scaled wall clock */
    sh_field_u64(b, "lag_ns", target > sim_now(h->sim)
                              ? (uint64_t)(target - sim_now(h->sim)) : 0);
    sh_field_u64(b, "end_ns", (uint64_t)h->sc.duration_ns);
    sh_printf(b, " speed=%" PRIu64 ".%03" PRIu64, h->o.speed_milli / 1000,
              h->o.speed_milli % 1000);
    sh_field_str(b, "policy", h->ops->opt_name);
    sh_field_u64(b, "domains", sim_nr_domains(h->sim));
    sh_field_u64(b, "pid", (uint64_t)getpid());
    sh_field_str(b, "scenario", h->scenario_abs);
    sh_field_str(b, "boot_id", h->boot_id);
    sh_printf(b, "\n");
}

static void sh_dom_line(struct sh_buf *b, const struct sim_dom_info *d,
                        const struct sim_incarnation *inc)
{
    unsigned int j;

    sh_printf(b, "dom");
    sh_field_str(b, "uuid", d->uuid);
    sh_field_u64(b, "domid", d->domid);
    sh_field_u64(b, "created_ns", (uint64_t)inc->created_ns);
    sh_field_str(b, "name", d->name);
    if ( d->tenant )
        sh_field_str(b, "tenant", d->tenant);
    sh_printf(b, " state=%s", d->running ? "running" : "blocked");
    sh_field_u64(b, "cpu_ns", d->cpu_ns);
    sh_field_u64(b, "vcpus", d->nr_vcpus);
    sh_field_u64(b, "online_vcpus", d->online_vcpus);
    sh_printf(b, " vcpu_ns=");
    for ( j = 0; j < d->nr_vcpus; j++ )
        sh_printf(b, "%s%" PRIu64, j ? "," : "", d->vcpu_ns[j]);
    sh_printf(b, " vcpu_online=");
    for ( j = 0; j < d->nr_vcpus; j++ )
        sh_printf(b, "%s1", j ? "," : "");
    sh_field_u64(b, "mem_cur_bytes", d->mem_cur_bytes);
    sh_field_u64(b, "mem_max_bytes", d->mem_max_bytes);
    sh_field_u64(b, "mem_target_bytes", d->mem_target_bytes);
    sh_printf(b, " vbd=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64, d->vbd.id, d->vbd.rd_reqs, d->vbd.wr_reqs,
              d->vbd.rd_sectors, d->vbd.wr_sectors);
    sh_printf(b, " vif=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
              d->vif.id, d->vif.rx_bytes, d->vif.rx_pkts, d->vif.rx_errs,
              d->vif.rx_drop, d->vif.tx_bytes, d->vif.tx_pkts,
              d->vif.tx_errs, d->vif.tx_drop);
    if ( d->sched_stats )
    {
        sh_field_u64(b, "wait_ns", d->stats.wait_ns);
        sh_field_u64(b, "throttled_ns", d->stats.throttled_ns);
        sh_field_u64(b, "sched_cap_pct", d->stats.cap_pct);
        sh_printf(b, " windows=");
        for ( j = 0; j < SCH_STATS_NR_BUCKETS; j++ )
            sh_printf(b, "%s%" PRIu64, j ? "," : "", d->stats.windows[j]);
    }
    sh_printf(b, "\n");
}

/* A life of domain @d that ended (reboot, migration, destruction) with its
 * final counters, as Xen shows a dying domain until it is reaped. */
static void sh_dying_line(struct sh_buf *b, const struct sim_dom_info *d,
                          const struct sim_incarnation *inc)
{
    sh_printf(b, "dom");
    sh_field_str(b, "uuid", d->uuid);
    sh_field_u64(b, "domid", inc->domid);
    sh_field_u64(b, "created_ns", (uint64_t)inc->created_ns);
    sh_field_str(b, "name", d->name);
    if ( d->tenant )
        sh_field_str(b, "tenant", d->tenant);
    sh_printf(b, " state=dying");
    sh_field_u64(b, "cpu_ns", inc->cpu_ns);
    sh_printf(b, " vcpus=0 online_vcpus=0 vcpu_ns= vcpu_online=");
    sh_printf(b, " mem_cur_bytes=0 mem_max_bytes=0 mem_target_bytes=0");
    sh_printf(b, " vbd=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64, inc->vbd.id, inc->vbd.rd_reqs, inc->vbd.wr_reqs,
              inc->vbd.rd_sectors, inc->vbd.wr_sectors);
    sh_printf(b, " vif=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
              inc->vif.id, inc->vif.rx_bytes, inc->vif.rx_pkts,
              inc->vif.rx_errs, inc->vif.rx_drop, inc->vif.tx_bytes,
              inc->vif.tx_pkts, inc->vif.tx_errs, inc->vif.tx_drop);
    sh_printf(b, "\n");
}

/*
 * Every live domain, then every life that ended in the last
 * SH_DYING_GRACE_S of wall time, oldest first, as a dying domain with its
 * final counters: a client (xenosd, perhaps restarted after a crash)
 * counts the last moments of a life that ended between two samples, and
 * keeps the grace period to see them even if it was down for a while.
 */
static unsigned int sh_sample_doms(struct sh *h, struct sh_buf *b)
{
    unsigned int i, k, n = sim_nr_domains(h->sim), count = 0;
    sch_time_t now = sim_now(h->sim);
    sch_time_t grace = (sch_time_t)(SH_DYING_GRACE_S * 1000000u *
                                    h->o.speed_milli);
    struct sim_dom_truth t;
    struct sim_dom_info d;

    for ( i = 0; i < n; i++ )
    {
        if ( sim_dom_info(h->sim, i, &d) || sim_dom_truth(h->sim, i, &t) )
            continue;
        for ( k = 0; k < t.nr_incarnations; k++ )
        {
            const struct sim_incarnation *inc = &t.inc[k];

            if ( inc->ended_ns < 0 || inc->ended_ns < now - grace )
                continue;
            count++;
            if ( b )
                sh_dying_line(b, &d, inc);
        }
        /* A live domain's life is its last incarnation. */
        if ( d.life == SIM_LIFE_ALIVE && t.nr_incarnations )
        {
            count++;
            if ( b )
                sh_dom_line(b, &d, &t.inc[t.nr_incarnations - 1]);
        }
    }
    return count;
}

static void sh_sample(struct sh *h, struct sh_buf *b)
{
    sh_printf(b, "OK SAMPLE");
    sh_field_u64(b, "count", sh_sample_doms(h, NULL));
    sh_field_u64(b, "time_ns", (uint64_t)sim_now(h->sim));
    sh_field_str(b, "boot_id", h->boot_id);
    sh_field_u64(b, "pcpus", h->sc.pcpus);
    sh_printf(b, "\n");
    sh_sample_doms(h, b);
}

static void sh_truth(struct sh *h, struct sh_buf *b)
{
    unsigned int i, k, n = sim_nr_domains(h->sim);

    sh_printf(b, "OK TRUTH");
    sh_field_u64(b, "count", n);
    sh_field_u64(b, "time_ns", (uint64_t)sim_now(h->sim));
    sh_printf(b, "\n");
    for ( i = 0; i < n; i++ )
    {
        struct sim_dom_truth t;

        if ( sim_dom_truth(h->sim, i, &t) )
            continue;
        sh_printf(b, "truth");
        sh_field_str(b, "uuid", t.uuid);
        sh_field_str(b, "name", t.name);
        sh_printf(b, " life=%s", sh_life_names[t.life]);
        sh_field_u64(b, "cpu_ns", t.cpu_ns);
        sh_field_u64(b, "incarnations", t.nr_incarnations);
        sh_printf(b, "\n");
        for ( k = 0; k < t.nr_incarnations; k++ )
        {
            const struct sim_incarnation *c = &t.inc[k];

            sh_printf(b, "inc");
            sh_field_str(b, "uuid", t.uuid);
            sh_field_u64(b, "domid", c->domid);
            sh_field_u64(b, "created_ns", (uint64_t)c->created_ns);
            if ( c->ended_ns >= 0 )
                sh_field_u64(b, "ended_ns", (uint64_t)c->ended_ns);
            sh_printf(b, " end=%s", sh_end_names[c->end]);
            sh_field_u64(b, "cpu_ns", c->cpu_ns);
            sh_printf(b, "\n");
        }
    }
}

static void sh_errno(struct sh_buf *b, int rc, const char *what)
{
    switch ( rc )
    {
    case -ENOENT:
        sh_err(b, "ENOENT", what);
        break;
    case -EOPNOTSUPP:
        sh_err(b, "EOPNOTSUPP", "the policy has no weight or cap");
        break;
    default:
        sh_err(b, "EINVAL", "the policy refuses these values");
        break;
    }
}

/* A decimal uint32_t and nothing else. */
static int sh_u32(const char *s, uint32_t *out)
{
    int64_t v;

    if ( num_parse_int(s, 0, UINT32_MAX, &v) )
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static void sh_get_set(struct sh *h, struct sh_buf *b, char **w,
                       unsigned int n)
{
    bool set = !strcmp(w[0], "SET");
    uint32_t weight, cap;
    int i, rc;

    if ( n != (set ? 4u : 2u) )
    {
        sh_err(b, "EINVAL", set ? "usage: SET UUID WEIGHT CAP"
                                : "usage: GET UUID");
        return;
    }
    i = sim_find_uuid(h->sim, w[1]);
    if ( i < 0 || !sim_domain(h->sim, (unsigned int)i) )
    {
        sh_err(b, "ENOENT", "no such domain on this host");
        return;
    }
    if ( set )
    {
        if ( sh_u32(w[2], &weight) || sh_u32(w[3], &cap) )
        {
            sh_err(b, "EINVAL", "weight and cap must be decimal integers");
            return;
        }
        rc = sim_dom_set_sched(h->sim, (unsigned int)i, weight, cap);
        if ( rc )
            sh_errno(b, rc, "no such domain on this host");
        else
            sh_printf(b, "OK SET\n");
        return;
    }
    rc = sim_dom_get_sched(h->sim, (unsigned int)i, &weight, &cap);
    if ( rc )
    {
        sh_errno(b, rc, "no such domain on this host");
        return;
    }
    sh_printf(b, "OK GET");
    sh_field_str(b, "uuid", w[1]);     /* as asked, so it can match */
    sh_field_u64(b, "weight", weight);
    sh_field_u64(b, "cap_pct", cap);
    sh_printf(b, "\n");
}

void sh__request(struct sh *h, struct sh_client *c, char *line)
{
    struct sh_buf *b = &c->out;
    char *w[5];
    unsigned int n;

    /* Behind, the loop advances between requests: a client asking many
     * in a row must not pay for the simulation at each. */
    if ( !h->behind )
        sh__advance(h);
    n = sh_words(line, w, 4);
    if ( n == 0 )
        sh_err(b, "EINVAL", "empty request");
    else if ( !strcmp(w[0], "PING") && n == 1 )
        sh_ping(h, b);
    else if ( !strcmp(w[0], "SAMPLE") && n == 1 )
    {
        if ( !h->booted )
        {
            /* --boot-on-sample: the host boots when first looked at, so
             * its first sample is its very beginning. */
            h->booted = true;
            h->start_wall_ns = sh__mono_ns();
        }
        sh_sample(h, b);
    }
    else if ( !strcmp(w[0], "TRUTH") && n == 1 )
        sh_truth(h, b);
    else if ( !strcmp(w[0], "GET") || !strcmp(w[0], "SET") )
        sh_get_set(h, b, w, n);
    else if ( !strcmp(w[0], "SHUTDOWN") && n == 1 )
    {
        sh_printf(b, "OK SHUTDOWN\n");
        h->quit = true;
        sh__log(h, "SHUTDOWN requested");
    }
    else
        sh_err(b, "EINVAL", "unknown request (PING, SAMPLE, TRUTH, GET, "
               "SET, SHUTDOWN)");
    sh_printf(b, "END\n");
}

void sh__refuse(struct sh_buf *b, const char *code, const char *why)
{
    sh_err(b, code, why);
    sh_printf(b, "END\n");
}
