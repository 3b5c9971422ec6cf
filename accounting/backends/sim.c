/*
 * sim.c: the `sim` accounting backend, a client of xenos-simhost: its ops
 * table (options, open and close, SAMPLE, GET and SET).
 *
 * The simulated host is its own process, as a hypervisor outlives its dom0
 * daemon: open() connects to its UNIX socket and, when nothing answers
 * there, starts `xenos-simhost --daemon` with the scenario (sim_spawn.c)
 * and waits (bounded) until it answers.  Closing the backend, or the death
 * of its caller, leaves the host running; acct_sim_shutdown() stops it
 * (sim_truth.c).  Every request goes through sim_proto.c: one connection,
 * one request at a time, a timeout on every read, a dead connection made
 * again once.  Replies are parsed strictly: a malformed line for one
 * domain sets that domain's error and leaves the others alone.  The
 * protocol is in docs/sim-backend.md.
 *
 * Options (open's args, "key=value"): scenario=FILE (needed only to start
 * a host), socket=PATH, else state_dir=DIR (DIR/simhost.sock), else
 * SIMB_SOCKET_DEFAULT; speed=N, policy=P, log=FILE, idle_exit_s=N (passed
 * to a host it starts); simhost=PATH (the binary; default $XENOS_SIMHOST,
 * then beside the running program, then its build-tree place, then PATH);
 * timeout_ms=N.
 *
 * Not thread-safe: one caller thread per open state.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_private.h"

/* ------------------------------------------------------------------ */
/* SAMPLE                                                             */

struct simb_sample {
    struct acct_sample *out;
    uint32_t count;                     /* the status line's */
    uint32_t seen;
};

static int simb_sample_status(struct simb *b, void *ctx, char *line)
{
    struct simb_sample *s = ctx;
    const char *count, *t;
    uint64_t time_ns;
    int n = simb__tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    count = simb__get(b, n, "count");
    t = simb__get(b, n, "time_ns");
    if ( !count || !t || simb__u32(count, &s->count) ||
         simb__u64(t, &time_ns) )
        return -EPROTO;
    s->out->time_ns = time_ns;
    /* A host from before pCPU counts has none: 0 (not known). */
    if ( (t = simb__get(b, n, "pcpus")) && simb__u32(t, &s->out->nr_pcpus) )
        return -EPROTO;
    /* A host from before boot ids has none: "" (not known). */
    if ( (t = simb__get(b, n, "boot_id")) )
    {
        const char *dec;
        size_t len, i;

        if ( simb__decode(b, t, &dec, &len) || !len ||
             len > ACCT_BOOT_ID_MAX )
            return -EPROTO;
        for ( i = 0; i < len; i++ )
            if ( dec[i] < 0x21 || dec[i] > 0x7e )
                return -EPROTO;
        memcpy(s->out->boot_id, dec, len + 1);
    }
    return 0;
}

static const struct {
    const char *name;
    enum acct_dom_state state;
} simb_states[] = {
    { "running", ACCT_DOM_RUNNING }, { "blocked", ACCT_DOM_BLOCKED },
    { "paused", ACCT_DOM_PAUSED }, { "shutdown", ACCT_DOM_SHUTDOWN },
    { "crashed", ACCT_DOM_CRASHED }, { "dying", ACCT_DOM_DYING },
};

/* A string field into the sample; NULL and *@rc set if it cannot be. */
static const char *simb_str(struct simb *b, struct acct_sample *s,
                            const char *v, int *rc)
{
    const char *dec, *p;
    size_t len;
    int r = simb__decode(b, v, &dec, &len);

    if ( r )
    {
        *rc = r;
        return NULL;
    }
    p = acct_sample_str(s, dec, len);
    if ( !p )
        *rc = -ENOMEM;
    return p;
}

/* "vbd=ID,RD_REQS,WR_REQS,RD_SECTORS,WR_SECTORS" */
static int simb_vbd(const char *v, struct acct_vbd *d)
{
    uint64_t f[5];

    if ( simb__list(v, f, 5) || f[0] > UINT32_MAX )
        return -EBADMSG;
    d->id = (uint32_t)f[0];
    d->rd_reqs = f[1];
    d->wr_reqs = f[2];
    d->rd_sectors = f[3];
    d->wr_sectors = f[4];
    return 0;
}

/* "vif=ID,RX_BYTES,RX_PKTS,RX_ERRS,RX_DROP,TX_BYTES,TX_PKTS,TX_ERRS,
 * TX_DROP" */
static int simb_vif(const char *v, struct acct_vif *d)
{
    uint64_t f[9];

    if ( simb__list(v, f, 9) || f[0] > UINT32_MAX )
        return -EBADMSG;
    d->id = (uint32_t)f[0];
    d->rx_bytes = f[1];
    d->rx_pkts = f[2];
    d->rx_errs = f[3];
    d->rx_drop = f[4];
    d->tx_bytes = f[5];
    d->tx_pkts = f[6];
    d->tx_errs = f[7];
    d->tx_drop = f[8];
    return 0;
}

/*
 * The fields of one "dom" line into @d.  Returns 0, -EBADMSG (the line is
 * wrong: @d keeps what could be read) or -ENOMEM.
 */
static int simb_dom_fields(struct simb *b, struct acct_sample *s,
                           struct acct_domain *d, int n)
{
    const char *v;
    uint64_t *ns, *on;
    uint32_t nvbd = 0, nvif = 0, nr;
    int i, rc = 0;
    size_t k;

    /* Identity first, so even a bad line says whose it is. */
    v = simb__get(b, n, "uuid");
    if ( !v || simb__uuid(v, d->uuid) )
        rc = -EBADMSG;
    v = simb__get(b, n, "name");
    d->name = v ? simb_str(b, s, v, &rc) : NULL;
    if ( !v )
        rc = -EBADMSG;
    v = simb__get(b, n, "tenant");
    if ( v )
        d->tenant_key = simb_str(b, s, v, &rc);
    v = simb__get(b, n, "domid");
    if ( !v || simb__u32(v, &d->domid) )
        rc = -EBADMSG;
    /* Optional: a host from before creation times has none. */
    v = simb__get(b, n, "created_ns");
    if ( v && simb__u64(v, &d->created_ns) )
        rc = -EBADMSG;
    if ( rc )
        return rc;

    v = simb__get(b, n, "state");
    for ( k = 0; v && k < sizeof(simb_states) / sizeof(simb_states[0]); k++ )
        if ( !strcmp(v, simb_states[k].name) )
            break;
    if ( !v || k == sizeof(simb_states) / sizeof(simb_states[0]) )
        return -EBADMSG;
    d->state = simb_states[k].state;

    v = simb__get(b, n, "cpu_ns");
    if ( !v || simb__u64(v, &d->cpu_ns) )
        return -EBADMSG;
    v = simb__get(b, n, "vcpus");
    if ( !v || simb__u32(v, &nr) || nr > 65536 )
        return -EBADMSG;
    v = simb__get(b, n, "online_vcpus");
    if ( !v || simb__u32(v, &d->online_vcpus) || d->online_vcpus > nr )
        return -EBADMSG;
    /* Never NULL, even for a first line of 0 vCPUs: b->nums + nr below
     * would be NULL + 0, undefined. */
    if ( !b->nums || 2 * (size_t)nr > b->nums_cap )
    {
        size_t cap = nr ? 2 * (size_t)nr : 2;
        uint64_t *p = realloc(b->nums, cap * sizeof(*p));

        if ( !p )
            return -ENOMEM;
        b->nums = p;
        b->nums_cap = cap;
    }
    ns = b->nums;
    on = b->nums + nr;
    if ( nr && (!(v = simb__get(b, n, "vcpu_ns")) ||
                simb__list(v, ns, nr) ||
                !(v = simb__get(b, n, "vcpu_online")) ||
                simb__list(v, on, nr)) )
        return -EBADMSG;
    d->vcpus = acct_sample_array(s, nr, sizeof(*d->vcpus));
    if ( !d->vcpus )
        return -ENOMEM;
    d->nr_vcpus = nr;
    for ( k = 0; k < nr; k++ )
    {
        if ( on[k] > 1 )
            return -EBADMSG;
        d->vcpus[k].cpu_ns = ns[k];
        d->vcpus[k].online = on[k];
    }

    if ( !(v = simb__get(b, n, "mem_cur_bytes")) ||
         simb__u64(v, &d->mem_cur_bytes) ||
         !(v = simb__get(b, n, "mem_max_bytes")) ||
         simb__u64(v, &d->mem_max_bytes) ||
         !(v = simb__get(b, n, "mem_target_bytes")) ||
         simb__u64(v, &d->mem_target_bytes) )
        return -EBADMSG;
    /* The policy's contention counters: both or neither (a policy
     * that does not count them, rr, sends neither). */
    {
        const char *w = simb__get(b, n, "wait_ns");
        const char *t = simb__get(b, n, "throttled_ns");

        const char *c = simb__get(b, n, "sched_cap_pct");
        const char *h = simb__get(b, n, "windows");

        if ( !w != !t || (w && (simb__u64(w, &d->wait_ns) ||
                                simb__u64(t, &d->throttled_ns))) )
            return -EBADMSG;
        /* with them, the cap and the window histogram they go with */
        if ( w && (!c || !h || simb__u32(c, &d->sched_cap_pct) ||
                   simb__list(h, d->windows, ACCT_NR_WINDOWS)) )
            return -EBADMSG;
        d->sched_stats = w != NULL;
    }

    for ( i = 0; i < n; i++ )
    {
        nvbd += !strcmp(b->toks[i].key, "vbd");
        nvif += !strcmp(b->toks[i].key, "vif");
    }
    d->vbds = acct_sample_array(s, nvbd, sizeof(*d->vbds));
    d->vifs = acct_sample_array(s, nvif, sizeof(*d->vifs));
    if ( !d->vbds || !d->vifs )
        return -ENOMEM;
    for ( i = 0; i < n && !rc; i++ )
    {
        if ( !strcmp(b->toks[i].key, "vbd") )
            rc = simb_vbd(b->toks[i].val, &d->vbds[d->nr_vbds++]);
        else if ( !strcmp(b->toks[i].key, "vif") )
            rc = simb_vif(b->toks[i].val, &d->vifs[d->nr_vifs++]);
    }
    return rc;
}

static int simb_sample_line(struct simb *b, void *ctx, char *line)
{
    struct simb_sample *s = ctx;
    struct acct_domain *d;
    int n, rc;

    if ( strncmp(line, "dom ", 4) )
        return 0;       /* a line kind we do not know: from a newer host */
    d = acct_sample_add(s->out);
    if ( !d )
        return -ENOMEM;
    s->seen++;
    n = simb__tokens(b, line, 1);
    rc = n < 0 ? n : simb_dom_fields(b, s->out, d, n);
    if ( rc )
    {
        /* Counters of a bad line are not to be trusted, any of them. */
        d->error = rc == -ENOMEM ? -ENOMEM : -EBADMSG;
        d->cpu_ns = 0;
        d->nr_vcpus = d->online_vcpus = d->nr_vbds = d->nr_vifs = 0;
        d->sched_stats = false;
        if ( !d->name )
            d->name = "";
    }
    return 0;
}

static void simb_sample_reset(void *ctx)
{
    struct simb_sample *s = ctx;

    acct_sample_reset(s->out);
    s->count = s->seen = 0;
}

static int sim_sample(void *state, struct acct_sample *out)
{
    struct simb *b = simb_of(state);
    struct simb_sample s = { .out = out };
    const struct simb_reply r = {
        .status = simb_sample_status,
        .line = simb_sample_line,
        .ctx = &s,
    };
    int rc;

    acct_sample_reset(out);
    if ( !b )
        return -EINVAL;
    rc = simb__call(b, "SAMPLE\n", &r, simb_sample_reset);
    if ( !rc && s.seen != s.count )
        rc = -EPROTO;   /* the host said how many; a line went missing */
    if ( rc )
        acct_sample_reset(out);
    return rc;
}

/* ------------------------------------------------------------------ */
/* GET and SET                                                        */

struct simb_sched {
    uint32_t weight, cap_pct;
};

static int simb_get_status(struct simb *b, void *ctx, char *line)
{
    struct simb_sched *g = ctx;
    const char *w, *c;
    int n = simb__tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    w = simb__get(b, n, "weight");
    c = simb__get(b, n, "cap_pct");
    if ( !w || !c || simb__u32(w, &g->weight) || simb__u32(c, &g->cap_pct) )
        return -EPROTO;
    return 0;
}

static int sim_set_sched(void *state, const char *uuid, uint32_t weight,
                         uint32_t cap_pct)
{
    struct simb *b = simb_of(state);
    char u[ACCT_UUID_LEN + 1], req[128];

    if ( !b )
        return -EINVAL;
    /* Checked, so nothing the caller passes can forge a request. */
    if ( !uuid || simb__uuid(uuid, u) )
        return -ENOENT;
    snprintf(req, sizeof(req), "SET %s %u %u\n", u, weight, cap_pct);
    return simb__call(b, req, NULL, NULL);
}

static int sim_get_sched(void *state, const char *uuid, uint32_t *weight,
                         uint32_t *cap_pct)
{
    struct simb *b = simb_of(state);
    struct simb_sched g = { 0, 0 };
    const struct simb_reply r = { .status = simb_get_status, .ctx = &g };
    char u[ACCT_UUID_LEN + 1], req[128];
    int rc;

    if ( !b )
        return -EINVAL;
    if ( !uuid || simb__uuid(uuid, u) )
        return -ENOENT;
    snprintf(req, sizeof(req), "GET %s\n", u);
    rc = simb__call(b, req, &r, NULL);
    if ( !rc )
    {
        *weight = g.weight;
        *cap_pct = g.cap_pct;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Opening: connect, or start a host                                  */

static void simb_free(struct simb *b)
{
    if ( !b )
        return;
    simb__disconnect(b);
    free(b->scenario);
    free(b->socket);
    free(b->state_dir);
    free(b->timeout_ms_s);
    free(b->speed);
    free(b->policy);
    free(b->simhost);
    free(b->log);
    free(b->idle_exit_s);
    free(b->buf);
    free(b->dec);
    free(b->toks);
    free(b->nums);
    b->magic = 0;
    free(b);
}

/* One "key=value" of open's args. */
static int simb_opt(struct simb *b, const char *arg, char *err,
                    size_t errlen)
{
    static const struct {
        const char *key;
        size_t off;
    } opts[] = {
#define SIMB_KEY(k) { #k, offsetof(struct simb, k) }
        SIMB_KEY(scenario), SIMB_KEY(socket), SIMB_KEY(state_dir),
        SIMB_KEY(speed), SIMB_KEY(policy), SIMB_KEY(simhost), SIMB_KEY(log),
        SIMB_KEY(idle_exit_s),
        { "timeout_ms", offsetof(struct simb, timeout_ms_s) },
#undef SIMB_KEY
    };
    const char *eq = strchr(arg, '=');
    size_t klen = eq ? (size_t)(eq - arg) : strlen(arg), i;
    char **slot, *v;

    for ( i = 0; eq && i < sizeof(opts) / sizeof(opts[0]); i++ )
        if ( strlen(opts[i].key) == klen && !strncmp(arg, opts[i].key, klen) )
            break;
    if ( !eq || i == sizeof(opts) / sizeof(opts[0]) )
    {
        snprintf(err, errlen, "unknown option '%.*s' (scenario, socket, "
                 "state_dir, speed, policy, simhost, log, idle_exit_s, "
                 "timeout_ms)", (int)(klen > 64 ? 64 : klen), arg);
        return -EINVAL;
    }
    v = strdup(eq + 1);
    if ( !v )
        return -ENOMEM;
    slot = (char **)((char *)b + opts[i].off);
    free(*slot);
    *slot = v;
    return 0;
}

/* Options into @b, checked; the socket path chosen. */
static int simb_opts(struct simb *b, const char *const *args, char *err,
                     size_t errlen)
{
    char path[PATH_MAX];
    int rc, w;

    for ( ; args && *args; args++ )
    {
        rc = simb_opt(b, *args, err, errlen);
        if ( rc )
            return rc;
    }
    if ( b->timeout_ms_s )
    {
        char *end;
        long ms = strtol(b->timeout_ms_s, &end, 10);

        if ( end == b->timeout_ms_s || *end || ms < 1 || ms > 600000 )
        {
            snprintf(err, errlen, "timeout_ms must be 1..600000, not '%.32s'",
                     b->timeout_ms_s);
            return -EINVAL;
        }
        b->timeout_ms = (int)ms;
    }
    if ( b->scenario )
    {
        /* Absolute: the host runs elsewhere, and PING names it so. */
        if ( !realpath(b->scenario, path) )
        {
            rc = -errno;
            snprintf(err, errlen, "scenario %.200s: %s", b->scenario,
                     strerror(-rc));
            return rc;
        }
        free(b->scenario);
        b->scenario = strdup(path);
        if ( !b->scenario )
            return -ENOMEM;
    }
    if ( b->socket )
        w = snprintf(b->sock, sizeof(b->sock), "%s", b->socket);
    else if ( b->state_dir )
        w = snprintf(b->sock, sizeof(b->sock), "%s/%s", b->state_dir,
                     SIMB_SOCKET_NAME);
    else
        w = snprintf(b->sock, sizeof(b->sock), "%s", SIMB_SOCKET_DEFAULT);
    if ( w < 0 || (size_t)w >= sizeof(b->sock) )
    {
        snprintf(err, errlen, "socket path too long (%zu bytes at most)",
                 sizeof(b->sock) - 1);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* The host at the socket must run our scenario, if we have one: a host
 * left by another test or daemon would give another host's truth. */
static int simb_check(struct simb *b, char *err, size_t errlen)
{
    struct acct_sim_info info;
    struct simb_ping pg = { .info = &info };
    int rc = simb__ping(b, &pg);

    if ( rc )
    {
        snprintf(err, errlen, "%s: no answer to PING: %s", b->sock,
                 strerror(-rc));
        return rc;
    }
    if ( b->scenario && pg.scenario[0] && strcmp(b->scenario, pg.scenario) )
    {
        snprintf(err, errlen, "%s serves %.200s, not %.200s", b->sock,
                 pg.scenario, b->scenario);
        return -EADDRINUSE;
    }
    return 0;
}

static int sim_open(const char *const *args, void **state, char *err,
                    size_t errlen)
{
    struct simb *b = calloc(1, sizeof(*b));
    int64_t deadline;
    int rc;

    *state = NULL;
    if ( errlen )
        err[0] = '\0';
    if ( !b )
        return -ENOMEM;
    b->magic = SIMB_MAGIC;
    b->fd = -1;
    b->timeout_ms = SIMB_TIMEOUT_MS;
    rc = simb_opts(b, args, err, errlen);
    if ( rc )
        goto out_free;

    deadline = simb__now_ms() + SIMB_START_MS;
    rc = simb__connect(b);
    if ( (rc == -ENOENT || rc == -ECONNREFUSED) && !b->scenario )
    {
        snprintf(err, errlen, "no simulated host at %s, and no scenario= "
                 "to start one", b->sock);
        goto out_free;
    }
    if ( rc == -ENOENT || rc == -ECONNREFUSED )
    {
        rc = simb__spawn(b, deadline, err, errlen);
        if ( !rc )
        {
            rc = simb__connect_until(b, deadline);
            if ( rc )
                snprintf(err, errlen, "%s: %s", b->sock, strerror(-rc));
        }
        else if ( rc == -ECHILD && !simb__connect(b) )
        {
            /* A host started by another caller at the same moment won
             * the socket and ours gave up: use that one. */
            rc = 0;
            err[0] = '\0';
        }
        if ( rc )
            goto out_free;
    }
    else if ( rc )
    {
        snprintf(err, errlen, "connect %s: %s", b->sock, strerror(-rc));
        goto out_free;
    }
    rc = simb_check(b, err, errlen);
    if ( rc )
        goto out_free;
    *state = b;
    return 0;

 out_free:
    simb_free(b);
    return rc;
}

static void sim_close(void *state)
{
    simb_free(simb_of(state));
}

const struct acct_backend_ops acct_backend_sim = {
    .version = ACCT_BACKEND_V1,
    .name = "sim",
    .open = sim_open,
    .sample = sim_sample,
    .set_sched = sim_set_sched,
    .get_sched = sim_get_sched,
    .close = sim_close,
};
