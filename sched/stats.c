/*
 * stats.c: contention counters, counted by the framework for every host.
 *
 * Design.  A domain's counters change only when one of its units changes
 * state, so they are kept per domain as "how many units are in each state
 * since @since" (struct sch_dom_stats): at each transition the elapsed
 * time is charged, nr[state] x dt, to running, waiting or throttled, and
 * then the counts change.  A read does the same up to the time of the
 * read.  The states, exactly:
 * - run: the unit is current on its pCPU (chosen by do_schedule; the
 *   context switch into it counts as its);
 * - wait: runnable, not current, not parked: it waits for a pCPU;
 * - parked (throttled): runnable, not current, and the policy holds it off
 *   its queues because its domain is out of cap budget;
 * - off: not runnable.
 * So for a domain, wall x units = run + wait + throttled + off, and "not
 * running while runnable" is wait + throttled, the two disjoint.
 *
 * Conformance is a histogram of 100 ms windows, aligned on multiples of
 * 100 ms of host time, by the domain's use in each (the run time of all its
 * units, in percent of one pCPU) relative to the cap in force when the
 * window closed (one pCPU when uncapped).  It is cumulative, so any number
 * of readers take deltas: the delta over an interval says how many of its
 * windows stayed under each bound, and its highest non-empty bucket bounds
 * the interval's peak.  A run of windows in which the domain's running
 * count did not change is closed in one step, so an idle hour costs no
 * more than an idle millisecond.
 *
 * Time: hosts pass a time per pCPU that never goes back on that pCPU, but
 * two pCPUs' clocks may differ a little (Xen under emulation: tens of
 * microseconds).  A transition stamped before @since is counted at @since:
 * a slip of that size moves time between states, never creates or loses
 * any.
 *
 * Locking: sch_dom_stats.lock guards everything in it and is a leaf: it is
 * taken under schedule locks and policy locks, and nothing inside it.  A
 * unit's stat_state is under its pCPU's schedule lock, as u->parked.
 */
#include <xenos/sched.h>

const uint32_t sch_stats_bucket_pct[SCH_STATS_NR_BUCKETS - 1] = {
    25, 50, 75, 90, 98, 100, 102, 105, 110, 125, 150,
};

void sch_stats_dom_init(struct sch_domain *d, sch_time_t now)
{
    struct sch_dom_stats *st = &d->stats;
    unsigned int i;

    sch_spin_lock_init(&st->lock);
    st->since = now;
    st->win_start = now - now % SCH_STATS_WINDOW_NS;
    st->win_run_ns = 0;
    st->cap_pct = 0;
    for ( i = 0; i < SCH_US_NR; i++ )
        st->nr[i] = 0;
    st->run_ns = st->wait_ns = st->throttled_ns = 0;
    for ( i = 0; i < SCH_STATS_NR_BUCKETS; i++ )
        st->windows[i] = 0;
}

/* The bucket of a window in which the domain ran @run_ns. */
static unsigned int stats_bucket(const struct sch_dom_stats *st,
                                 sch_time_t run_ns)
{
    /* run_ns / WINDOW * 100 <= bound * ref / 100, in integers */
    const uint64_t ref = st->cap_pct ? st->cap_pct : 100;
    const uint64_t use = (uint64_t)run_ns * 100 * 100;
    unsigned int b;

    for ( b = 0; b < SCH_STATS_NR_BUCKETS - 1; b++ )
        if ( use <= sch_stats_bucket_pct[b] * ref *
                    (uint64_t)SCH_STATS_WINDOW_NS )
            break;
    return b;
}

/* Charge [since, @t) to the states and windows.  Lock held. */
static void stats_advance(struct sch_dom_stats *st, sch_time_t t)
{
    const sch_time_t w = SCH_STATS_WINDOW_NS;
    const uint64_t nrun = st->nr[SCH_US_RUN];
    sch_time_t dt = t - st->since;

    if ( dt <= 0 )
        return;
    st->run_ns += nrun * (uint64_t)dt;
    st->wait_ns += st->nr[SCH_US_WAIT] * (uint64_t)dt;
    st->throttled_ns += st->nr[SCH_US_PARKED] * (uint64_t)dt;

    if ( t >= st->win_start + w )
    {
        sch_time_t end = st->win_start + w;
        sch_time_t whole = (t - end) / w;

        /* the open window, then any it spanned whole */
        st->win_run_ns += (sch_time_t)nrun * (end - st->since);
        st->windows[stats_bucket(st, st->win_run_ns)]++;
        if ( whole )
            st->windows[stats_bucket(st, (sch_time_t)nrun * w)] +=
                (uint64_t)whole;
        st->win_start = end + whole * w;
        st->win_run_ns = (sch_time_t)nrun * (t - st->win_start);
    }
    else
        st->win_run_ns += (sch_time_t)nrun * dt;
    st->since = t;
}

void sch__stats_change(const struct sch_sched *s, struct sch_unit *u,
                       enum sch_ustate to, sch_time_t now)
{
    struct sch_dom_stats *st = &u->domain->stats;

    (void)s;
    SCH_ASSERT(u->domain && to != u->stat_state);
    sch_spin_lock(&st->lock);
    stats_advance(st, now);
    SCH_ASSERT(u->stat_state == SCH_US_OFF || st->nr[u->stat_state] > 0);
    if ( u->stat_state != SCH_US_OFF )
        st->nr[u->stat_state]--;
    if ( to != SCH_US_OFF )
        st->nr[to]++;
    sch_spin_unlock(&st->lock);
    u->stat_state = (uint8_t)to;
}

void sch_unit_park(const struct sch_sched *s, struct sch_unit *u,
                   bool parked, sch_time_t now)
{
    u->parked = parked;
    sch_stats_sync(s, u, now);
}

void sch_stats_set_cap(struct sch_domain *d, uint32_t cap_pct,
                       sch_time_t now)
{
    struct sch_dom_stats *st = &d->stats;

    sch_spin_lock(&st->lock);
    stats_advance(st, now);
    st->cap_pct = cap_pct;
    sch_spin_unlock(&st->lock);
}

void sch_stats_read(struct sch_domain *d, sch_time_t now,
                    struct sch_stats_snap *out)
{
    struct sch_dom_stats *st = &d->stats;
    unsigned int i;

    sch_spin_lock(&st->lock);
    stats_advance(st, now);
    out->at = st->since;
    out->cap_pct = st->cap_pct;
    out->run_ns = st->run_ns;
    out->wait_ns = st->wait_ns;
    out->throttled_ns = st->throttled_ns;
    for ( i = 0; i < SCH_STATS_NR_BUCKETS; i++ )
        out->windows[i] = st->windows[i];
    sch_spin_unlock(&st->lock);
}
