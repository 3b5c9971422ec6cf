/*
 * host.c: the simulator's implementation of xenos/host.h, the services a
 * policy may use, but for those every user-space host shares
 * (sched/hosted/hosted.c: memory, moves, assertions).  Timers are events
 * in the queue, a kick is a reschedule event at the current time, and the
 * log is the simulator's log file.
 */
#include <stdarg.h>
#include <stdio.h>

#include "evq.h"

static struct sim *sim_of(const struct sch_sched *s)
{
    return s->host;
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
