/*
 * stats.c: contention counters, counted by the framework for every host.
 *
 * Design.  A domain's counters change only when one of its units changes
 * state, so they are kept per domain, per state, as the number of its units
 * in the state (nr) and a sum (acc) such that the time its units spent in
 * it up to t is acc + nr x t: a unit entering the state at t subtracts t,
 * one leaving adds t.  A transition is then two additions and two counts,
 * with no multiplication and no elapsed time (the counters cost about a
 * sixth of the simulator's time when each transition charged nr x dt to
 * every state: docs/performance.md).  The sums are modulo 2^64 and their
 * terms far larger than the result; the result is exact.  The states:
 * - run: the unit is current on its pCPU (chosen by do_schedule; the
 *   context switch into it counts as its);
 * - wait: runnable, not current, not parked: it waits for a pCPU;
 * - parked (throttled): runnable, not current, and the policy holds it off
 *   its queues because its domain is out of cap budget;
 * - off: not runnable (not counted: units are born off, uncounted).
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
 * microseconds).  A transition or read stamped before @since is counted at
 * @since, so a read never sees less than an earlier one: a slip of that
 * size moves time between states, never creates or loses any.
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
    st->win_end = now - now % SCH_STATS_WINDOW_NS + SCH_STATS_WINDOW_NS;
    st->win_base = 0;
    st->cap_pct = 0;
    for ( i = 0; i < SCH_US_NR; i++ )
    {
        st->nr[i] = 0;
        st->acc[i] = 0;
    }
    for ( i = 0; i < SCH_STATS_NR_BUCKETS; i++ )
        st->windows[i] = 0;
}

/* The bucket of a window in which the domain ran @run_ns. */
static unsigned int stats_bucket(const struct sch_dom_stats *st,
                                 uint64_t run_ns)
{
    /* run_ns / WINDOW * 100 <= bound * ref / 100, in integers */
    const uint64_t ref = st->cap_pct ? st->cap_pct : 100;
    const uint64_t use = run_ns * 100 * 100;
    unsigned int b;

    for ( b = 0; b < SCH_STATS_NR_BUCKETS - 1; b++ )
        if ( use <= sch_stats_bucket_pct[b] * ref *
                    (uint64_t)SCH_STATS_WINDOW_NS )
            break;
    return b;
}

/* The time @st's units spent in @state up to @t. */
static uint64_t stats_total(const struct sch_dom_stats *st,
                            enum sch_ustate state, sch_time_t t)
{
    return st->acc[state] + st->nr[state] * (uint64_t)t;
}

/*
 * Bring @st to @t: clamp it to @since, and close the windows that ended by
 * then.  Nothing changed state since the open window ended (this is the
 * first transition or read after it), so the run total at its end is
 * known exactly; any windows wholly spanned ran nr[run] all through.
 * Returns @t as counted.  Lock held.
 */
static sch_time_t stats_advance(struct sch_dom_stats *st, sch_time_t t)
{
    const sch_time_t w = SCH_STATS_WINDOW_NS;

    if ( t < st->since )
        t = st->since;
    st->since = t;
    if ( t >= st->win_end )
    {
        const uint64_t nrun = st->nr[SCH_US_RUN];
        sch_time_t whole = (t - st->win_end) / w;

        st->windows[stats_bucket(st, stats_total(st, SCH_US_RUN,
                                                 st->win_end) -
                                         st->win_base)]++;
        if ( whole )
            st->windows[stats_bucket(st, nrun * w)] += (uint64_t)whole;
        st->win_end += (whole + 1) * w;
        st->win_base = stats_total(st, SCH_US_RUN, st->win_end - w);
    }
    return t;
}

void sch__stats_change(const struct sch_sched *s, struct sch_unit *u,
                       enum sch_ustate to, sch_time_t now)
{
    struct sch_dom_stats *st = &u->domain->stats;
    const enum sch_ustate from = (enum sch_ustate)u->stat_state;

    (void)s;
    SCH_ASSERT(u->domain && to != from);
    sch_spin_lock(&st->lock);
    now = stats_advance(st, now);
    /* Off's entries are never read: no branch to skip them. */
    SCH_ASSERT(from == SCH_US_OFF || st->nr[from] > 0);
    st->acc[from] += (uint64_t)now;
    st->nr[from]--;
    st->acc[to] -= (uint64_t)now;
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
    now = stats_advance(st, now);
    out->at = now;
    out->cap_pct = st->cap_pct;
    out->run_ns = stats_total(st, SCH_US_RUN, now);
    out->wait_ns = stats_total(st, SCH_US_WAIT, now);
    out->throttled_ns = stats_total(st, SCH_US_PARKED, now);
    for ( i = 0; i < SCH_STATS_NR_BUCKETS; i++ )
        out->windows[i] = st->windows[i];
    sch_spin_unlock(&st->lock);
}
