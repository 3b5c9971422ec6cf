/*
 * test_evq.c: the simulator's event queue (sched/sim/evq.c, evq.h) against
 * a plain model: whatever is set, moved, cancelled and popped, events come
 * out in (time, seq) order, and a pop never returns an event due after its
 * limit.  Delays span every level (the cursor's slot, level 0 wrapping
 * into the next level-1 slot, level 1, far) and limits fall short of the
 * next event, so the queue looks ahead and later events go to the early
 * list, as a host stepping sim_run_until makes them.
 */
#include <check.h>
#include <stdlib.h>

#include "../sched/sim/evq.h"

#define NEV 256

/* Check's assertions report to the runner each time: too slow for millions
 * of checks.  This one costs nothing until it fails. */
#define EXPECT(c)                                                          \
    do {                                                                   \
        if ( !(c) )                                                        \
            ck_abort_msg("step %u: %s", n, #c);                            \
    } while ( 0 )

struct model {
    bool queued;
    sch_time_t time;
    uint64_t seq;
};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A delay from one of the scales the queue treats apart. */
static sch_time_t delay(uint64_t *s)
{
    static const sch_time_t scale[] = {
        0, 1, SCH_USEC(8), SCH_USEC(200), SCH_MSEC(2), SCH_MSEC(30),
        SCH_MSEC(40), SCH_SEC(1), SCH_SEC(140), SCH_SEC(1000),
    };
    unsigned int k = (unsigned int)(rng_next(s) % 10);

    return scale[k] ? (sch_time_t)(rng_next(s) % (uint64_t)scale[k]) +
                      (k > 1 ? scale[k] / 2 : 0)
                    : 0;
}

/* The model's next event, or -1. */
static int model_first(const struct model *m)
{
    int i, best = -1;

    for ( i = 0; i < NEV; i++ )
        if ( m[i].queued &&
             (best < 0 || m[i].time < m[best].time ||
              (m[i].time == m[best].time && m[i].seq < m[best].seq)) )
            best = i;
    return best;
}

static void run(uint64_t seed, unsigned int steps)
{
    struct sim *sim = calloc(1, sizeof(*sim));
    struct sim_event *ev = calloc(NEV, sizeof(*ev));
    struct model *m = calloc(NEV, sizeof(*m));
    uint64_t s = seed;
    unsigned int n, i;

    ck_assert_ptr_nonnull(sim);
    ck_assert_ptr_nonnull(ev);
    ck_assert_ptr_nonnull(m);
    for ( i = 0; i < NEV; i++ )
        ev[i].pos = SIM_EV_IDLE;
    for ( n = 0; n < steps; n++ )
    {
        unsigned int op = (unsigned int)(rng_next(&s) % 16);

        i = (unsigned int)(rng_next(&s) % NEV);
        if ( op < 8 )
        {
            /* Set, or move: now, near, or before now (counts as now). */
            sch_time_t t = sim->now + delay(&s);

            if ( op == 7 )
                t = sim->now - 5;
            m[i].queued = true;
            m[i].time = t > sim->now ? t : sim->now;
            m[i].seq = sim->seq;
            sim__ev_set(sim, &ev[i], t);
        }
        else if ( op == 8 && m[i].queued )
        {
            /* Set again at the very same time: a fresh seq all the same. */
            m[i].seq = sim->seq;
            sim__ev_set(sim, &ev[i], m[i].time);
        }
        else if ( op < 10 )
        {
            m[i].queued = false;
            sim__ev_cancel(sim, &ev[i]);
        }
        else
        {
            /* Pop up to a limit, as sim_run_until does; often short of the
             * next event, which makes the queue look ahead. */
            sch_time_t limit = sim->now + delay(&s);
            struct sim_event *got = sim__ev_pop(sim, limit);
            int want = model_first(m);

            if ( want >= 0 && m[want].time <= limit )
            {
                EXPECT(got == &ev[want]);
                EXPECT(got->time == m[want].time);
                EXPECT(got->seq == m[want].seq);
                EXPECT(got->pos == SIM_EV_IDLE);
                m[want].queued = false;
                sim->now = got->time;
            }
            else
            {
                EXPECT(got == NULL);
                if ( limit > sim->now )
                    sim->now = limit;
            }
        }
        for ( i = 0; i < NEV; i += 17 )
            EXPECT((ev[i].pos != SIM_EV_IDLE) == m[i].queued);
    }
    sim__evq_drain(sim);
    for ( i = 0; i < NEV; i++ )
        EXPECT(ev[i].pos == SIM_EV_IDLE);
    free(m);
    free(ev);
    free(sim);
}

START_TEST(test_evq_order)
{
    run(1 + (uint64_t)_i, 200000);
}
END_TEST

static Suite *evq_suite(void)
{
    Suite *s = suite_create("evq");
    TCase *tc = tcase_create("order");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_evq_order, 0, 16);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(evq_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
