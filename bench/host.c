/*
 * host.c (bench): the least host a policy can run in, so bench_decide
 * measures the policy's decisions and nothing of the simulator's.  Timers
 * are armed but never fire; kicks are counted, not delivered.  Memory,
 * moves and assertions are every user-space host's (sched/hosted/).
 */
#include <stdarg.h>
#include <stdio.h>

#include <xenos/sched.h>

#include "host.h"

unsigned long bench_kicks;

void sch_timer_init(const struct sch_sched *s, struct sch_timer *t,
                    sch_timer_cb fn, void *data, unsigned int cpu)
{
    (void)s;
    t->fn = fn;
    t->data = data;
    t->expires = 0;
    t->cpu = cpu;
    t->killed = false;
}

void sch_timer_set(struct sch_timer *t, sch_time_t expires)
{
    SCH_ASSERT(!t->killed);
    t->expires = expires;
}

void sch_timer_stop(struct sch_timer *t)
{
    (void)t;
}

void sch_timer_kill(struct sch_timer *t)
{
    t->killed = true;
}

void sch_kick(const struct sch_sched *s, unsigned int cpu)
{
    (void)s;
    (void)cpu;
    bench_kicks++;
}

void sch_printk(const struct sch_sched *s, const char *fmt, ...)
{
    va_list ap;

    (void)s;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}
