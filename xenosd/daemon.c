/*
 * daemon.c: one interval of xenosd's work (daemon.h): account a sample,
 * turn the tenant policy into per-domain weight and cap and apply what
 * changed, checkpoint, render the status the control socket serves.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenos/cfg.h>
#include <xenos/fileio.h>
#include <xenos/log.h>
#include <xenos/text.h>

#include "daemon.h"

int xd_cond_note(struct xd_cond *c, int rc, const char *what,
                 const char *hint)
{
    if ( !rc )
    {
        if ( c->rc )
            xlog(LOG_NOTICE, "%s works again (after %" PRIu64 " failed "
                 "interval%s)", what, c->fails, c->fails == 1 ? "" : "s");
        c->rc = 0;
        c->fails = 0;
        return 0;
    }
    if ( rc != c->rc )
        xlog(LOG_ERR, "%s: %s%s%s%s", what, fio_strerror(rc),
             hint ? " (" : "", hint ? hint : "",
             hint ? "; logged again when this changes)" : "");
    c->rc = rc;
    c->fails++;
    return rc;
}

uint64_t xd_clock_ns(int clock_id)
{
    struct timespec ts;

    clock_gettime((clockid_t)clock_id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Tenant policy                                                       */

static const char *xd_tenant_of(void *ctx, const struct acct_domain *d)
{
    struct xd *xd = ctx;

    return xd->tpol ? tpol_tenant_of(xd->tpol, d->uuid, d->tenant_key,
                                     d->name)
                    : NULL;
}

int xd_load_policy(struct xd *xd)
{
    struct tpol *p;
    char err[512] = "";
    int rc;

    if ( !xd->o.policy_file )
        return 0;
    rc = tpol_load(xd->o.policy_file, &p, err, sizeof(err));
    if ( rc )
    {
        xlog(LOG_ERR, "%s", err[0] ? err : strerror(-rc));
        return rc;
    }
    tpol_free(xd->tpol);
    xd->tpol = p;
    return 0;
}

static int xd_io_reserve(struct xd *xd, size_t n)
{
    struct tpol_input *in;
    struct tpol_output *out;

    if ( n <= xd->io_cap )
        return 0;
    in = realloc(xd->in, n * sizeof(*in));
    if ( !in )
        return -ENOMEM;
    xd->in = in;
    out = realloc(xd->out, n * sizeof(*out));
    if ( !out )
        return -ENOMEM;
    xd->out = out;
    xd->io_cap = n;
    return 0;
}

/*
 * The vCPUs of @d that wanted CPU over the last interval, for the tenant
 * engine to weigh.  Where that is unknown (the first sample, a domain
 * that cannot be read now), all online ones: the engine's assumption
 * that never lets a tenant weigh more than its weight.  A dying life
 * has ended, and wants none (its successor after a reboot, the same
 * uuid and record, may be in the same sample and is counted as itself).
 */
static uint32_t xd_active_vcpus(const struct acct_domain *d,
                                const struct acct_dom *rec)
{
    if ( d->state == ACCT_DOM_DYING )
        return 0;
    if ( !rec || d->error || !rec->interval_ns )
        return d->online_vcpus;
    return tpol_count_active(rec->vcpu_delta_ns,
                             rec->nr_vcpus < d->nr_vcpus ? rec->nr_vcpus
                                                         : d->nr_vcpus,
                             rec->interval_ns);
}

/*
 * Whether @d's weight and cap need be set: not for a life that has ended
 * (dying, shut down or crashed): it will not run again, and Xen refuses
 * to set a dying domain, which would count an error at every interval of
 * the minute it takes to go.  Its successor after a reboot, the
 * same uuid in the same sample, is set as itself.
 */
static bool xd_schedulable(const struct acct_domain *d)
{
    return d->state != ACCT_DOM_DYING && d->state != ACCT_DOM_SHUTDOWN &&
           d->state != ACCT_DOM_CRASHED;
}

/* Weight and cap from the tenant policy, applied where they changed.  A
 * failure is counted for each domain, and logged when failing starts,
 * its reason changes and it ends (xd_cond_note), naming the first domain
 * it failed for. */
static void xd_apply_policy(struct xd *xd)
{
    const struct acct_sample *s = &xd->sample;
    struct acct_snapshot snap;
    unsigned int pass;
    uint32_t i;
    bool tried = false;
    int first_rc = 0;
    char what[512] = "";

    if ( !xd->tpol || !s->nr_domains || xd_io_reserve(xd, s->nr_domains) )
        return;
    for ( i = 0; i < s->nr_domains; i++ )
    {
        const struct acct_domain *d = &s->domains[i];
        const struct acct_dom *rec = acct_collector_find(xd->col, d->uuid);
        struct tpol_input *in = &xd->in[i];

        memset(in, 0, sizeof(*in));
        in->uuid = d->uuid;
        in->name = d->name;
        in->tenant_key = d->tenant_key;
        in->online_vcpus = d->online_vcpus;
        in->active_vcpus = xd_active_vcpus(d, rec);
        in->cap_pct_now = rec ? rec->cap_pct : 0;
        in->demand_pct = rec && rec->interval_ns
            ? 100.0 * (double)rec->delta.cpu_ns / (double)rec->interval_ns
            : 0;
    }
    if ( tpol_apply(xd->tpol, xd->in, s->nr_domains, xd->out) )
        return;
    /*
     * Lowered caps first, then the rest: a tenant's cap moving from one of
     * its domains to another never adds up to more than the tenant's cap,
     * not even between two calls.
     */
    for ( pass = 0; pass < 2; pass++ )
    for ( i = 0; i < s->nr_domains; i++ )
    {
        const struct acct_domain *d = &s->domains[i];
        const struct acct_dom *rec = acct_collector_find(xd->col, d->uuid);
        const struct tpol_output *o = &xd->out[i];
        bool lower;
        int rc;

        if ( !rec || d->error || !xd_schedulable(d) ||
             (rec->weight == o->weight && rec->cap_pct == o->cap_pct) )
            continue;
        lower = o->cap_pct && (!rec->cap_pct || o->cap_pct < rec->cap_pct);
        if ( lower != (pass == 0) )
            continue;
        tried = true;
        rc = xd->be->set_sched(xd->be_state, d->uuid, o->weight, o->cap_pct);
        if ( rc )
        {
            acct_collector_count_error(xd->col, ACCT_ERR_SET_SCHED);
            if ( !first_rc )
            {
                first_rc = rc;
                snprintf(what, sizeof(what), "set weight %" PRIu32
                         " and cap %" PRIu32 "%% of domain %s", o->weight,
                         o->cap_pct, d->uuid);
            }
            continue;
        }
        acct_collector_set_sched(xd->col, d->uuid, o->weight, o->cap_pct);
    }
    /* Nothing tried says nothing about whether it works. */
    if ( tried )
        xd_cond_note(&xd->sched_cond, first_rc, first_rc ? what : "set_sched",
                     "counted in xenos_errors_total{kind=\"set_sched\"}");
    acct_collector_snapshot(xd->col, &snap);
    for ( i = 0; i < snap.nr_tenants; i++ )
    {
        const char *name = snap.tenants[i].name;
        uint32_t weight, cap_pct;
        unsigned int k;

        tpol_defaults(xd->tpol, &weight, &cap_pct);
        for ( k = 0; k < tpol_nr_tenants(xd->tpol); k++ )
            if ( !strcmp(tpol_tenant(xd->tpol, k)->name, name) )
            {
                weight = tpol_tenant(xd->tpol, k)->weight;
                cap_pct = tpol_tenant(xd->tpol, k)->cap_pct;
            }
        acct_collector_set_tenant_sched(xd->col, name, weight, cap_pct);
    }
}

/* ------------------------------------------------------------------ */
/* Status                                                              */

static double pct_of(uint64_t ns, uint64_t interval_ns)
{
    return interval_ns ? 100.0 * (double)ns / (double)interval_ns : 0;
}

/* The counters under their names (counters.def), comma-separated; the
 * scheduler's only if @sched_stats (absent rather than 0 otherwise, as in
 * /metrics). */
static void json_usage(FILE *f, const struct acct_usage *u, bool sched_stats)
{
    const char *sep = "";

#define XENOS_COUNTER(name, ledger, rrd, was, sched, help)              \
    if ( !(sched) || sched_stats )                                      \
    {                                                                   \
        fprintf(f, "%s\"" #name "\":%" PRIu64, sep, u->name);         \
        sep = ",";                                                      \
    }
#include <xenos/counters.def>
#undef XENOS_COUNTER
}

static void render_status(struct xd *xd, FILE *f)
{
    struct acct_snapshot snap, *c = &snap;
    uint32_t i;

    acct_collector_snapshot(xd->col, &snap);
    fprintf(f, "{\"version\":1,\"backend\":");
    txt_json_str(f, xd->be->name);
    fprintf(f, ",\"interval_ms\":%ld,\"intervals\":%" PRIu64
            ",\"last_sample_ns\":%" PRIu64 ",\"last_sample_unix_ns\":%"
            PRIu64 ",\"sample_duration_ns\":%" PRIu64
            ",\"policy_file\":", xd->o.interval_ms, c->intervals,
            c->last_sample_ns, xd->last_sample_wall_ns,
            xd->sample_duration_ns);
    txt_json_str(f, xd->o.policy_file);
    fputs(",\"boot_id\":", f);
    txt_json_str(f, c->boot_id);
    fprintf(f, ",\"host_reboots\":%" PRIu64, c->host_reboots);
    fprintf(f, ",\"policy_reloads\":%" PRIu64 ",\"policy_reload_errors\":%"
            PRIu64 ",\"errors\":{", xd->policy_reloads,
            xd->policy_reload_errors);
    for ( i = 0; i < ACCT_NR_ERR_KINDS; i++ )
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", acct_err_names[i],
                c->errors[i]);
    fputs("},\"tenants\":[", f);
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        const struct acct_tenant *t = &c->tenants[i];
        uint64_t iv = 0;
        uint32_t j;

        for ( j = 0; j < c->nr_doms && !iv; j++ )
            if ( c->doms[j].present )
                iv = c->doms[j].interval_ns;
        fputs(i ? ",{\"name\":" : "{\"name\":", f);
        txt_json_str(f, t->name);
        fprintf(f, ",\"weight\":%" PRIu32 ",\"cap_pct\":%" PRIu32
                ",\"domains\":%" PRIu32 ",\"cpu_pct\":%.3f,\"sched_stats\":%s"
                ",\"total\":{", t->weight, t->cap_pct, t->nr_domains,
                pct_of(t->delta.cpu_ns, iv),
                t->sched_stats ? "true" : "false");
        json_usage(f, &t->total, t->sched_stats);
        fputs("}}", f);
    }
    fputs("],\"domains\":[", f);
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];

        fprintf(f, "%s{\"uuid\":\"%s\",\"name\":", i ? "," : "", d->uuid);
        txt_json_str(f, d->name);
        fputs(",\"tenant\":", f);
        txt_json_str(f, d->tenant ? d->tenant : "-");
        fprintf(f, ",\"domid\":%" PRIu32 ",\"present\":%s,\"error\":%d"
                ",\"vcpus\":%" PRIu32 ",\"online_vcpus\":%" PRIu32
                ",\"weight\":%" PRIu32 ",\"cap_pct\":%" PRIu32
                ",\"cpu_pct\":%.3f,\"mem_cur_bytes\":%" PRIu64
                ",\"mem_max_bytes\":%" PRIu64 ",\"mem_target_bytes\":%"
                PRIu64 ",\"resets\":%" PRIu64 ",\"sched_stats\":%s"
                ",\"total\":{", d->domid,
                d->present ? "true" : "false", d->error, d->nr_vcpus,
                d->online_vcpus, d->weight, d->cap_pct,
                pct_of(d->delta.cpu_ns, d->interval_ns), d->mem_cur_bytes,
                d->mem_max_bytes, d->mem_target_bytes, d->resets,
                d->sched_stats ? "true" : "false");
        json_usage(f, &d->total, d->sched_stats);
        fputs("},\"interval\":{", f);
        json_usage(f, &d->delta, d->sched_stats);
        fprintf(f, ",\"ns\":%" PRIu64, d->interval_ns);
        if ( d->sched_stats )
            fprintf(f, ",\"peak_window_pct\":%" PRIu32,
                    d->peak_window_pct);
        fputs("}}", f);
    }
    fputs("]}\n", f);
}

/*
 * A field for the "top" lines: escaped so no tab or newline survives, and
 * whole, however long the name.  Returns 0 or -ENOMEM.
 */
static int top_field(FILE *f, const char *s)
{
    char small[256], *buf = small;
    size_t len;

    s = s ? s : "-";
    /* Names fit the stack; a longer one gets the room its escape needs. */
    if ( cfg_escape(small, sizeof(small), s) == -ENOSPC )
    {
        len = txt_escape_size(s);
        buf = malloc(len);
        if ( !buf )
            return -ENOMEM;
        cfg_escape(buf, len, s);        /* fits: txt_escape_size() */
    }
    fputc('\t', f);
    fputs(buf, f);
    if ( buf != small )
        free(buf);
    return 0;
}

/*
 * The end of a "top" line: waiting and throttled time in the interval,
 * in percent of one pCPU; a domain's peak window (@peak_pct; NULL for a
 * tenant, which has none); the windows over the cap in the interval.
 * Each "-" when not counted.
 */
static void top_contention(FILE *f, bool sched_stats,
                           const struct acct_usage *delta, uint64_t iv,
                           const uint32_t *peak_pct)
{
    if ( !sched_stats )
    {
        fputs(peak_pct ? "\t-\t-\t-\t-\n" : "\t-\t-\t-\n", f);
        return;
    }
    fprintf(f, "\t%.2f\t%.2f", pct_of(delta->wait_ns, iv),
            pct_of(delta->throttled_ns, iv));
    if ( peak_pct )
        fprintf(f, "\t%" PRIu32, *peak_pct);
    fprintf(f, "\t%" PRIu64 "\n", delta->over_cap_windows);
}

/* Returns 0 or -ENOMEM (a field could not be escaped whole). */
static int render_top(struct xd *xd, FILE *f)
{
    struct acct_snapshot snap, *c = &snap;
    uint64_t iv = 0;
    uint32_t i;

    acct_collector_snapshot(xd->col, &snap);
    for ( i = 0; i < c->nr_doms && !iv; i++ )
        if ( c->doms[i].present )
            iv = c->doms[i].interval_ns;
    fprintf(f, "H\t%s\t%ld\t%" PRIu64 "\t%" PRIu64, xd->be->name,
            xd->o.interval_ms, c->intervals, c->last_sample_ns);
    for ( i = 0; i < ACCT_NR_ERR_KINDS; i++ )
        fprintf(f, "\t%s=%" PRIu64, acct_err_names[i], c->errors[i]);
    fputc('\n', f);
    if ( xd->nr_pcpus )
        fprintf(f, "P\t%" PRIu32 "\n", xd->nr_pcpus);
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        const struct acct_tenant *t = &c->tenants[i];

        fputc('T', f);
        if ( top_field(f, t->name) )
            return -ENOMEM;
        fprintf(f, "\t%" PRIu32 "\t%" PRIu32 "\t%" PRIu32 "\t%.2f\t%" PRIu64
                "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64,
                t->weight, t->cap_pct, t->nr_domains,
                pct_of(t->delta.cpu_ns, iv), t->total.cpu_ns,
                t->delta.vbd_read_bytes + t->delta.vbd_write_bytes,
                t->delta.vif_rx_bytes + t->delta.vif_tx_bytes,
                t->delta.memory_byte_seconds, iv);
        top_contention(f, t->sched_stats, &t->delta, iv, NULL);
    }
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];

        if ( !d->present )
            continue;
        fputc('D', f);
        if ( top_field(f, d->tenant) || top_field(f, d->name) )
            return -ENOMEM;
        fprintf(f, "\t%s\t%" PRIu32 "\t%" PRIu32 "\t%" PRIu32 "\t%" PRIu32
                "\t%.2f\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                "\t%" PRIu64 "\t%d\t%s", d->uuid, d->domid,
                d->online_vcpus, d->weight, d->cap_pct,
                pct_of(d->delta.cpu_ns, d->interval_ns),
                d->mem_cur_bytes, d->mem_max_bytes,
                d->delta.vbd_read_bytes + d->delta.vbd_write_bytes,
                d->delta.vif_rx_bytes + d->delta.vif_tx_bytes,
                d->interval_ns, d->error,
                (unsigned int)d->state < ACCT_NR_DOM_STATES ?
                acct_dom_state_names[d->state] : "unknown");
        top_contention(f, d->sched_stats, &d->delta, d->interval_ns,
                       &d->peak_window_pct);
    }
    return 0;
}

void xd_render(struct xd *xd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if ( !xd->dirty && xd->status )
        return;
    xd->dirty = false;
    f = open_memstream(&buf, &len);
    if ( f )
    {
        render_status(xd, f);
        if ( fclose(f) == 0 )
        {
            free(xd->status);
            xd->status = buf;
            xd->status_len = len;
        }
        else
            free(buf);
    }
    buf = NULL;
    len = 0;
    f = open_memstream(&buf, &len);
    if ( f )
    {
        /* A top cut short would be a lie: keep the last one whole. */
        int rc = render_top(xd, f);

        if ( fclose(f) == 0 && !rc )
        {
            free(xd->top);
            xd->top = buf;
            xd->top_len = len;
        }
        else
            free(buf);
    }
}

/* ------------------------------------------------------------------ */
/* One interval                                                        */

int xd_account(struct xd *xd)
{
    struct acct_snapshot snap;
    uint64_t reboots;
    int rc;

    reboots = acct_snap(xd->col, &snap)->host_reboots;
    rc = acct_collector_update(xd->col, &xd->sample, xd_tenant_of, xd);
    if ( rc )
        return rc;
    xd->nr_pcpus = xd->sample.nr_pcpus;
    if ( acct_snap(xd->col, &snap)->host_reboots != reboots )
        xlog(LOG_NOTICE, "the host rebooted (now boot %s): the lives of the "
             "last boot end at their last sample; the new ones count from "
             "zero", snap.boot_id[0] ? snap.boot_id : "unknown");
    xd_apply_policy(xd);
    rc = acct_collector_checkpoint(xd->col);
    if ( rc || xd->ckpt_cond.rc )
    {
        char what[4200];

        snprintf(what, sizeof(what), "checkpoint %s",
                 acct_collector_path(xd->col));
        xd_cond_note(&xd->ckpt_cond, rc, what, "usage is kept in memory "
                     "and written at the next interval");
    }
    xd->dirty = true;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Exporters                                                           */

/* One exporter's result: counted, and logged when failing starts, changes
 * or stops. */
static void xd_export_rc(struct xd *xd, struct xd_cond *c, const char *what,
                         int rc)
{
    if ( xd_cond_note(c, rc, what, "kept, and retried next interval") )
        xd->export_errors++;
}

int xd_open_exporters(struct xd *xd)
{
    const struct exp_ops *const *e;
    struct acct_snapshot snap;
    struct exp_env env = {
        .state_dir = xd->o.state_dir,
        .host = xd->host,
        .interval_ms = (uint64_t)xd->o.interval_ms,
        .fresh = !acct_snap(xd->col, &snap)->have_baseline,
        .opts = xd->o.exp_opts,
    };

    for ( e = exp_exporters; *e; e++ )
    {
        struct xd_exporter *x = &xd->exps[xd->nr_exps];
        char msg[512] = "";
        int rc;

        if ( xd->nr_exps == XD_EXPORTERS_MAX )
        {
            xlog(LOG_ERR, "%s: more exporters than %d", (*e)->name,
                          XD_EXPORTERS_MAX);
            return -E2BIG;
        }
        env.name = (*e)->name;
        x->state = NULL;
        rc = (*e)->open(&env, &x->state, msg, sizeof(msg));
        if ( rc < 0 )
        {
            xlog(LOG_ERR, "%s: %s", (*e)->what, msg[0] ? msg : strerror(-rc));
            return rc;
        }
        if ( msg[0] )
            xlog(LOG_NOTICE, "%s", msg);
        if ( rc == EXP_OFF )
            continue;
        x->ops = *e;
        memset(&x->cond, 0, sizeof(x->cond));
        xd->nr_exps++;
    }
    return 0;
}

void xd_close_exporters(struct xd *xd)
{
    unsigned int i;

    for ( i = 0; i < xd->nr_exps; i++ )
    {
        char msg[512] = "";

        if ( xd->exps[i].ops->close(xd->exps[i].state, msg, sizeof(msg)) &&
             msg[0] )
            xlog(LOG_WARNING, "%s: %s", xd->exps[i].ops->what, msg);
    }
    xd->nr_exps = 0;
}

void xd_export(struct xd *xd)
{
    struct acct_snapshot snap;
    struct exp_info info = {
        .host = xd->host,
        .backend = xd->be->name,
        .interval_ms = (uint64_t)xd->o.interval_ms,
        .sample_unix_ns = xd->last_sample_wall_ns,
        .stopping = xd->stopping,
        .sample_duration_ns = xd->sample_duration_ns,
        .intervals = acct_snap(xd->col, &snap)->intervals,
    };
    struct exp_health health[XD_EXPORTERS_MAX];
    unsigned int i;

    for ( i = 0; i < xd->nr_exps; i++ )
    {
        health[i].name = xd->exps[i].ops->name;
        health[i].failed_intervals = xd->exps[i].cond.fails;
    }
    info.exporters = health;
    info.nr_exporters = xd->nr_exps;
    /* In exporters.def's order, after the collector's checkpoint: the
     * ledger must never be ahead of what a restart would recount. */
    for ( i = 0; i < xd->nr_exps; i++ )
    {
        struct xd_exporter *x = &xd->exps[i];
        char msg[512] = "";

        xd_export_rc(xd, &x->cond, x->ops->what,
                     x->ops->update(x->state, &snap, &info, msg,
                                    sizeof(msg)));
        if ( msg[0] )
            xlog(LOG_WARNING, "%s: %s", x->ops->what, msg);
    }
}
