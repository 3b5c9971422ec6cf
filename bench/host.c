/*
 * host.c (bench): the least host a policy can run in, so bench_decide
 * measures the policy's decisions and nothing of the simulator's.  Timers
 * are armed but never fire; kicks are counted, not delivered.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <xenos/sched.h>

#include "host.h"

unsigned long bench_kicks;

void *sch_zalloc(const struct sch_sched *s, size_t size)
{
    (void)s;
    return calloc(1, size);
}

void sch_free(const struct sch_sched *s, void *p)
{
    (void)s;
    free(p);
}

void sch_timer_init(const struct sch_sched *s, struct sch_timer *t,
                    sch_timer_cb fn, void *data, unsigned int cpu)
{
    (void)s;
    t->ev.pos = SIM_EV_IDLE;
    t->fn = fn;
    t->data = data;
    t->sim = NULL;
    t->cpu = cpu;
    t->killed = false;
}

void sch_timer_set(struct sch_timer *t, sch_time_t expires)
{
    t->ev.time = expires;
}

void sch_timer_stop(struct sch_timer *t)
{
    (void)t;
}

void sch_timer_kill(struct sch_timer *t)
{
    t->killed = true;
}

void sch_unit_set_res(struct sch_unit *u, unsigned int cpu)
{
    u->res = cpu;
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

void sch_assert_failed(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
