/*
 * sim_truth.c: what the sim backend offers beyond its ops table
 * (acct_sim.h): the simulated host's ground truth (TRUTH), for tests that
 * check accounting against it; PING; and SHUTDOWN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_private.h"

/* ------------------------------------------------------------------ */
/* TRUTH, PING, SHUTDOWN                                              */

static const char *const simb_lives[] = {
    [ACCT_SIM_PENDING] = "pending",
    [ACCT_SIM_ALIVE] = "alive",
    [ACCT_SIM_GONE] = "gone",
};

static const char *const simb_ends[] = {
    [ACCT_SIM_END_NONE] = "none",
    [ACCT_SIM_END_REBOOT] = "reboot",
    [ACCT_SIM_END_MIGRATE] = "migrate",
    [ACCT_SIM_END_DESTROY] = "destroy",
};

/* Index of @v in @names[@n], or -1. */
static int simb_enum(const char *v, const char *const *names, int n)
{
    int i;

    for ( i = 0; v && i < n; i++ )
        if ( !strcmp(v, names[i]) )
            return i;
    return -1;
}

struct simb_truth {
    struct acct_sim_truth *t;
    uint32_t want;                      /* domains the status line promised */
    uint32_t inc_want;                  /* incarnations of the last one */
};

static int simb_truth_status(struct simb *b, void *ctx, char *line)
{
    struct simb_truth *tr = ctx;
    const char *count, *tm;
    int n = simb__tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    count = simb__get(b, n, "count");
    tm = simb__get(b, n, "time_ns");
    if ( !count || !tm || simb__u32(count, &tr->want) ||
         tr->want > (1u << 24) || simb__u64(tm, &tr->t->time_ns) )
        return -EPROTO;
    tr->t->domains = calloc(tr->want ? tr->want : 1,
                            sizeof(*tr->t->domains));
    return tr->t->domains ? 0 : -ENOMEM;
}

/* "truth uuid=U name=N life=L cpu_ns=C incarnations=K" */
static int simb_truth_dom(struct simb *b, struct simb_truth *tr, int n)
{
    struct acct_sim_truth *t = tr->t;
    struct acct_sim_truth_dom *d;
    const char *v, *dec;
    size_t len;
    int life;

    if ( t->nr_domains == tr->want ||
         (t->nr_domains && t->domains[t->nr_domains - 1].nr_inc !=
                           tr->inc_want) )
        return -EPROTO;
    d = &t->domains[t->nr_domains];
    life = simb_enum(simb__get(b, n, "life"), simb_lives, 3);
    if ( !(v = simb__get(b, n, "uuid")) || simb__uuid(v, d->uuid) ||
         life < 0 || !(v = simb__get(b, n, "cpu_ns")) ||
         simb__u64(v, &d->cpu_ns) ||
         !(v = simb__get(b, n, "incarnations")) ||
         simb__u32(v, &tr->inc_want) || tr->inc_want > (1u << 24) ||
         !(v = simb__get(b, n, "name")) || simb__decode(b, v, &dec, &len) )
        return -EPROTO;
    d->life = (enum acct_sim_life)life;
    d->name = malloc(len + 1);
    d->inc = calloc(tr->inc_want ? tr->inc_want : 1, sizeof(*d->inc));
    t->nr_domains++;            /* now truth_free frees what it holds */
    if ( !d->name || !d->inc )
        return -ENOMEM;
    memcpy(d->name, dec, len + 1);
    return 0;
}

/* "inc uuid=U domid=D created_ns=T [ended_ns=T] end=E cpu_ns=C" */
static int simb_truth_inc(struct simb *b, struct simb_truth *tr, int n)
{
    struct acct_sim_truth_dom *d;
    struct acct_sim_inc *c;
    const char *v;
    uint64_t ended;
    int end;

    if ( !tr->t->nr_domains )
        return -EPROTO;
    d = &tr->t->domains[tr->t->nr_domains - 1];
    if ( d->nr_inc == tr->inc_want )
        return -EPROTO;
    c = &d->inc[d->nr_inc];
    end = simb_enum(simb__get(b, n, "end"), simb_ends, 4);
    if ( end < 0 || !(v = simb__get(b, n, "domid")) ||
         simb__u32(v, &c->domid) ||
         !(v = simb__get(b, n, "created_ns")) ||
         simb__u64(v, &c->created_ns) ||
         !(v = simb__get(b, n, "cpu_ns")) || simb__u64(v, &c->cpu_ns) )
        return -EPROTO;
    c->end = (enum acct_sim_end)end;
    c->ended_ns = -1;
    if ( (v = simb__get(b, n, "ended_ns")) )
    {
        if ( simb__u64(v, &ended) || ended > INT64_MAX )
            return -EPROTO;
        c->ended_ns = (int64_t)ended;
    }
    d->nr_inc++;
    return 0;
}

static int simb_truth_line(struct simb *b, void *ctx, char *line)
{
    struct simb_truth *tr = ctx;
    bool dom = !strncmp(line, "truth ", 6), inc = !strncmp(line, "inc ", 4);
    int n;

    if ( !dom && !inc )
        return 0;       /* a line kind we do not know: from a newer host */
    n = simb__tokens(b, line, 1);
    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    return dom ? simb_truth_dom(b, tr, n) : simb_truth_inc(b, tr, n);
}

void acct_sim_truth_free(struct acct_sim_truth *t)
{
    uint32_t i;

    if ( !t )
        return;
    for ( i = 0; t->domains && i < t->nr_domains; i++ )
    {
        free(t->domains[i].name);
        free(t->domains[i].inc);
    }
    free(t->domains);
    memset(t, 0, sizeof(*t));
}

static void simb_truth_reset(void *ctx)
{
    struct simb_truth *tr = ctx;

    acct_sim_truth_free(tr->t);
    tr->want = tr->inc_want = 0;
}

int acct_sim_truth(void *state, struct acct_sim_truth *out)
{
    struct simb *b = simb_of(state);
    struct simb_truth tr = { .t = out };
    const struct simb_reply r = {
        .status = simb_truth_status,
        .line = simb_truth_line,
        .ctx = &tr,
    };
    int rc;

    memset(out, 0, sizeof(*out));
    if ( !b )
        return -EINVAL;
    rc = simb__call(b, "TRUTH\n", &r, simb_truth_reset);
    if ( !rc && (out->nr_domains != tr.want ||
                 (out->nr_domains &&
                  out->domains[out->nr_domains - 1].nr_inc != tr.inc_want)) )
        rc = -EPROTO;
    if ( rc )
        acct_sim_truth_free(out);
    return rc;
}

int acct_sim_ping(void *state, struct acct_sim_info *out)
{
    struct simb *b = simb_of(state);
    struct simb_ping pg = { .info = out };

    memset(out, 0, sizeof(*out));
    if ( !b )
        return -EINVAL;
    return simb__ping(b, &pg);
}

int acct_sim_shutdown(void *state)
{
    struct simb *b = simb_of(state);
    int rc;

    if ( !b )
        return -EINVAL;
    rc = simb__call(b, "SHUTDOWN\n", NULL, NULL);
    simb__disconnect(b);
    return rc;
}
