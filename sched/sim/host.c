/*
 * host.c: the simulator's implementation of xenos/host.h, the services a
 * policy may use.  Memory is the C heap, timers are events in the queue,
 * a kick is a reschedule event at the current time, and the log is the
 * simulator's log file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evq.h"

static struct sim *sim_of(const struct sch_sched *s)
{
    return s->host;
}

/* Cache-line aligned, as Xen's xzalloc_bytes: a policy's per-unit data
 * then starts a line, and what it packs into one line stays in one. */
void *sch_zalloc(const struct sch_sched *s, size_t size)
{
    size_t n = (size + SIM_CACHE_LINE - 1) & ~(size_t)(SIM_CACHE_LINE - 1);
    void *p;

    (void)s;
    p = aligned_alloc(SIM_CACHE_LINE, n ? n : SIM_CACHE_LINE);
    if ( p )
        memset(p, 0, n);
    return p;
}

void sch_free(const struct sch_sched *s, void *p)
{
    (void)s;
    free(p);
}

void sch_timer_init(const struct sch_sched *s, struct sch_timer *t,
                    sch_timer_cb fn, void *data, unsigned int cpu)
{
    t->ev.pos = SIM_EV_IDLE;
    t->ev.kind = SIM_K_TIMER;
    t->fn = fn;
    t->data = data;
    t->sim = sim_of(s);
    t->cpu = cpu;
    t->killed = false;
}

void sch_timer_set(struct sch_timer *t, sch_time_t expires)
{
    SCH_ASSERT(!t->killed);
    sim__ev_set(t->sim, &t->ev, expires);
}

void sch_timer_stop(struct sch_timer *t)
{
    sim__ev_cancel(t->sim, &t->ev);
}

void sch_timer_kill(struct sch_timer *t)
{
    sim__ev_cancel(t->sim, &t->ev);
    t->killed = true;
}

void sch_unit_set_res(struct sch_unit *u, unsigned int cpu)
{
    u->res = cpu;
}

void sch_kick(const struct sch_sched *s, unsigned int cpu)
{
    struct sim *sim = sim_of(s);
    struct sim_event *ev = &sim->cpus[cpu].ev;

    SCH_ASSERT(cpu < s->nr_cpus);
    /* Coalesce: a pending reschedule at or before now already covers it. */
    if ( ev->pos != SIM_EV_IDLE && ev->time <= sim->now )
        return;
    sim__ev_set(sim, ev, sim->now);
}

void sch_printk(const struct sch_sched *s, const char *fmt, ...)
{
    struct sim *sim = sim_of(s);
    va_list ap;

    va_start(ap, fmt);
    vfprintf(sim->log ? sim->log : stderr, fmt, ap);
    va_end(ap);
}

void sch_assert_failed(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
